import type { Principal } from '@cap/runtime';
import type { PullRequestJob } from '../generated/prisma/client.js';
import type { GithubDeps } from './deps.js';
import type { CompletedTask } from './pullRequestJobs.js';
import { findRepository } from './repositories.js';
import { mayReadRepository } from './repositoryAccessRules.js';
import { parseRepositoryReference } from './validation.js';

/**
 * The task's pull-request job if `principal` may see the repository it is about ({@link mayReadRepository}), else
 * null: the job's errors and state would otherwise tell of a repository connected with another user's GitHub
 * account. A job about a repository that is not connected (it fails NOT_FOUND) is shown.
 */
export async function readablePullRequestJob(
  deps: GithubDeps,
  principal: Principal,
  taskId: string,
): Promise<PullRequestJob | null> {
  const job = await deps.prisma.pullRequestJob.findUnique({ where: { taskId } });
  if (!job) return null;
  const reference = (job.payload as Partial<CompletedTask> | null)?.repository;
  const coordinates = typeof reference === 'string' ? parseRepositoryReference(reference) : null;
  if (!coordinates) return job;
  const repository = await findRepository(deps, coordinates.owner, coordinates.name);
  return !repository || mayReadRepository(principal, repository) ? job : null;
}
