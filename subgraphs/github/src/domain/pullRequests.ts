import { PullRequestOpened, PullRequestUpdated } from '@cap/events';
import { codedError, ErrorCode } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { PullRequest, PullRequestState, Repository } from '../generated/prisma/client.js';
import { postAgentReview, type ReviewOutcome } from './agentReview.js';
import type { GithubDeps, Tx } from './deps.js';
import { githubFailure } from './githubAccess.js';
import type { CompletedTask } from './pullRequestJobs.js';
import { publishPullRequestChanges } from '../live/pullRequestLive.js';
import { pullRequestBody, pullRequestTitle } from './pullRequestTemplate.js';
import { EVENT_SOURCE } from './repositories.js';
import { fullNameKey, parseRepositoryReference } from './validation.js';

type Completed = CompletedTask;

/** GitHub's pull request as the REST API returns it (the fields this subgraph keeps). */
interface GithubPull {
  number: number;
  html_url: string;
  title: string;
  state: string;
  draft?: boolean | undefined;
  merged?: boolean | null | undefined;
  merged_at?: string | null | undefined;
  merge_commit_sha?: string | null | undefined;
  mergeable?: boolean | null | undefined;
  head: { ref: string; sha: string };
  base: { ref: string };
}

function stateOf(pull: GithubPull): PullRequestState {
  if (pull.merged || pull.merged_at) return 'MERGED';
  return pull.state === 'closed' ? 'CLOSED' : 'OPEN';
}

/** The columns of a pull request from GitHub's representation. */
export function pullRequestColumns(pull: GithubPull) {
  return {
    number: pull.number,
    url: pull.html_url,
    title: pull.title,
    state: stateOf(pull),
    draft: pull.draft ?? false,
    headBranch: pull.head.ref,
    headSha: pull.head.sha,
    baseBranch: pull.base.ref,
    mergeable: pull.mergeable ?? null,
    mergeCommitSha: pull.merge_commit_sha ?? null,
  };
}

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
 * on GitHub by its head branch (open or closed), and created only when neither has it. `onSaved` runs in the
 * transaction that stores it. Then the agent's own review is posted on it, once per head commit
 * ({@link postAgentReview}).
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
  let pull: GithubPull;
  let kind: 'opened' | 'updated' = 'updated';
  try {
    const number =
      known?.number ??
      (
        await client.rest.pulls.list({
          owner: repository.owner,
          repo: repository.name,
          head: `${repository.owner}:${task.branch}`,
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
      pull = (
        await client.rest.pulls.create({
          owner: repository.owner,
          repo: repository.name,
          head: task.branch,
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
    const saved = await savePull(tx, repository, pull, task.taskId);
    const facts = pullRequestFacts(repository, saved);
    const aggregate = { source: EVENT_SOURCE, aggregateId: repository.id };
    const events = [
      kind === 'opened' || !known
        ? PullRequestOpened.create(facts, aggregate)
        : PullRequestUpdated.create({ ...facts, action: 'task_rerun' }, aggregate),
    ];
    await deps.events.record(tx, events);
    afterCommit(() => publishPullRequestChanges(deps, events));
    if (onSaved) await onSaved(tx, saved);
    return saved;
  });
  const review = await postAgentReview(deps, client, repository, pullRequest, task);
  return { kind, pullRequest, review };
}

/** Stores GitHub's pull request (by repository and number), linking it to `taskId` when given. */
export function savePull(tx: Tx, repository: Repository, pull: GithubPull, taskId?: string | null) {
  const columns = pullRequestColumns(pull);
  return tx.pullRequest.upsert({
    where: { repositoryId_number: { repositoryId: repository.id, number: pull.number } },
    create: { ...columns, repositoryId: repository.id, taskId: taskId ?? null },
    update: { ...columns, ...(taskId ? { taskId } : {}) },
  });
}
