import { PullRequestOpened, PullRequestUpdated, type Envelope } from '@cap/events';
import { codedError, ErrorCode } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { PullRequest, Repository } from '../generated/prisma/client.js';
import { postAgentReview, type ReviewOutcome } from './agentReview.js';
import type { GithubDeps, Tx } from './deps.js';
import { githubFailure } from './githubAccess.js';
import type { CompletedTask } from './pullRequestJobs.js';
import { publishPullRequestChanges } from '../live/pullRequestLive.js';
import {
  claimOpenedEvent,
  releaseHeadBranch,
  reserveHeadBranch,
  storePullLocked,
  type GithubPull,
} from './pullRequestStore.js';
import { pullRequestBody, pullRequestTitle } from './pullRequestTemplate.js';
import { EVENT_SOURCE } from './repositories.js';
import { fullNameKey, parseRepositoryReference } from './validation.js';

type Completed = CompletedTask;

/** The facts every `PullRequest*` event carries. */
export function pullRequestFacts(repository: Repository, pr: PullRequest) {
  return {
    repositoryId: repository.id,
    owner: repository.owner,
    name: repository.name,
    pullRequestId: pr.id,
    number: pr.number,
    url: pr.url,
    title: pr.title.slice(0, 1_000),
    state: pr.state,
    draft: pr.draft,
    headBranch: pr.headBranch,
    headSha: pr.headSha,
    baseBranch: pr.baseBranch,
    taskId: pr.taskId,
  };
}

/** What {@link openPullRequestForTask} did. */
export type TaskPullRequestOutcome =
  | { kind: 'opened' | 'updated'; pullRequest: PullRequest; review: ReviewOutcome }
  | { kind: 'skipped'; reason: string };

/**
 * Opens the task's pull request, or updates it: one per task whatever happens (a redelivered event, a re-run
 * of the task, a job run twice, a crash between GitHub's answer and our commit). It is found by task first, then
 * on GitHub by its head branch (open or closed), and created only when neither has it. It is announced once
 * (`PullRequestOpened`, with the task), by this path or by GitHub's `opened` delivery, whichever stores it first
 * (ADR 0036). `onSaved` runs in the transaction that stores it. Then the agent's own review is posted on it, once
 * per head commit ({@link postAgentReview}).
 * @throws GraphQLError NOT_FOUND when the repository is not connected; what {@link githubFailure} says of GitHub
 */
export async function openPullRequestForTask(
  deps: GithubDeps,
  task: Completed,
  onSaved?: (tx: Tx, pullRequest: PullRequest) => Promise<void>,
): Promise<TaskPullRequestOutcome> {
  const coordinates = task.repository ? parseRepositoryReference(task.repository) : null;
  if (!coordinates) return { kind: 'skipped', reason: 'the task names no GitHub repository' };
  if (!task.branch) return { kind: 'skipped', reason: 'the task pushed no branch' };
  const repository = await deps.prisma.repository.findUnique({
    where: { fullNameKey: fullNameKey(coordinates.owner, coordinates.name) },
  });
  if (!repository)
    throw codedError(
      ErrorCode.NOT_FOUND,
      `${coordinates.owner}/${coordinates.name} is not connected to the platform (connectRepository).`,
    );
  const { client } = await deps.access.clientFor(repository, {
    access: repository.access,
    userId: repository.connectedById,
  });
  const title = pullRequestTitle(task);
  // The branch the task started from (a CI fix: the failing branch), else the repository's default branch.
  const base = task.baseBranch ?? repository.defaultBranch;
  const body = pullRequestBody(task, { taskUrlTemplate: deps.settings.taskUrlTemplate });
  const known = await deps.prisma.pullRequest.findUnique({ where: { taskId: task.taskId } });
  const branch = task.branch;
  // Committed before GitHub is asked: its `opened` delivery, even if processed before our commit below, links
  // this task to the pull request (ADR 0036).
  const reserve = () =>
    reserveHeadBranch(
      deps.prisma,
      repository,
      branch,
      task.taskId,
      deps.settings.pullRequestReservationTtlMs,
    );
  if (!known) await reserve();
  let pull: GithubPull;
  let kind: 'opened' | 'updated' = 'updated';
  try {
    const number =
      known?.number ??
      (
        await client.rest.pulls.list({
          owner: repository.owner,
          repo: repository.name,
          head: `${repository.owner}:${branch}`,
          state: 'all',
          per_page: 1,
        })
      ).data[0]?.number;
    if (number !== undefined) {
      pull = (
        await client.rest.pulls.update({
          owner: repository.owner,
          repo: repository.name,
          pull_number: number,
          title,
          body,
          base,
        })
      ).data;
    } else {
      // Renewed just before the create: a long wait on `pulls.list` (rate limits) does not eat the lifetime.
      await reserve();
      pull = (
        await client.rest.pulls.create({
          owner: repository.owner,
          repo: repository.name,
          head: branch,
          base,
          title,
          body,
          draft: deps.settings.pullRequestDraft,
        })
      ).data;
      kind = 'opened';
    }
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
  const pullRequest = await inTransaction(deps, async ({ tx, afterCommit }) => {
    const stored = await storePullLocked(tx, repository, pull, task.taskId);
    await releaseHeadBranch(tx, repository, branch, task.taskId);
    const { saved } = stored;
    const facts = pullRequestFacts(repository, saved);
    const aggregate = { source: EVENT_SOURCE, aggregateId: repository.id };
    const events: Envelope[] = [];
    // One PullRequestOpened per pull request, carrying the task: ours unless GitHub's `opened` delivery was
    // processed first (it linked the task through the reservation and recorded it).
    if (await claimOpenedEvent(tx, saved.id)) events.push(PullRequestOpened.create(facts, aggregate));
    else if (known) events.push(PullRequestUpdated.create({ ...facts, action: 'task_rerun' }, aggregate));
    // A pull request announced before it was the task's (opened on GitHub from the branch before the task
    // path reserved it): the link arrives as an update.
    else if (stored.previousTaskId !== task.taskId)
      events.push(PullRequestUpdated.create({ ...facts, action: 'task_linked' }, aggregate));
    if (events.length > 0) {
      await deps.events.record(tx, events);
      afterCommit(() => publishPullRequestChanges(deps, events));
    }
    if (onSaved) await onSaved(tx, saved);
    return saved;
  });
  const review = await postAgentReview(deps, client, repository, pullRequest, task);
  return { kind, pullRequest, review };
}
