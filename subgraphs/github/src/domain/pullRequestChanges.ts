import { PullRequestClosed, PullRequestMerged, PullRequestUpdated, type Envelope } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { PullRequest, Repository } from '../generated/prisma/client.js';
import { publishPullRequestChanges } from '../live/pullRequestLive.js';
import type { GithubDeps } from './deps.js';
import { githubFailure } from './githubAccess.js';
import { pullRequestFacts } from './pullRequests.js';
import { storePullLocked, type GithubPull, type StoredPull } from './pullRequestStore.js';
import { EVENT_SOURCE } from './repositories.js';
import { mayReadRepository } from './repositoryAccessRules.js';

/**
 * The event of a state change (merged, closed, reopened), or null when the state did not change: the change was
 * already recorded (by a webhook delivery, a poll, or the mutation that made it).
 */
export function stateChangeEvent(repository: Repository, stored: StoredPull): Envelope | null {
  const { saved, previous } = stored;
  if (previous === saved.state) return null;
  const facts = pullRequestFacts(repository, saved);
  const aggregate = { source: EVENT_SOURCE, aggregateId: repository.id };
  if (saved.state === 'MERGED')
    return PullRequestMerged.create({ ...facts, mergeCommitSha: saved.mergeCommitSha }, aggregate);
  if (saved.state === 'CLOSED') return PullRequestClosed.create(facts, aggregate);
  return PullRequestUpdated.create({ ...facts, action: 'reopened' }, aggregate);
}

/**
 * The pull request `id` with its repository if `principal` may see it ({@link mayReadRepository}), else null:
 * a pull request on a repository connected with another user's GitHub account does not exist for the caller.
 */
export async function findReadablePullRequest(
  deps: GithubDeps,
  principal: Principal,
  where: { id: string } | { taskId: string },
): Promise<(PullRequest & { repository: Repository }) | null> {
  const pr = await deps.prisma.pullRequest.findUnique({ where, include: { repository: true } });
  return pr && mayReadRepository(principal, pr.repository) ? pr : null;
}

/** How a pull request is merged. */
export type MergeMethod = 'merge' | 'squash' | 'rebase';

/**
 * Merges, closes or reopens a pull request on GitHub, then stores its new state and announces the change (once:
 * a webhook delivery about the same change that arrives first leaves nothing to announce). NOT_FOUND for a pull
 * request the caller may not see ({@link mayReadRepository}).
 */
export async function changePullRequest(
  deps: GithubDeps,
  principal: Principal,
  id: string,
  change: { kind: 'merge'; method: MergeMethod } | { kind: 'close' } | { kind: 'reopen' },
): Promise<PullRequest> {
  const pr = await findReadablePullRequest(deps, principal, { id });
  if (!pr) throw codedError(ErrorCode.NOT_FOUND, 'No pull request has this id.');
  const { repository } = pr;
  const { client } = await deps.access.clientFor(repository, {
    access: repository.access,
    userId: repository.connectedById,
  });
  const target = { owner: repository.owner, repo: repository.name, pull_number: pr.number };
  let pull: GithubPull;
  try {
    if (change.kind === 'merge') {
      if (pr.state !== 'OPEN')
        throw codedError(ErrorCode.CONFLICT, `The pull request is ${pr.state} and cannot be merged.`);
      await client.rest.pulls.merge({ ...target, merge_method: change.method });
      pull = (await client.rest.pulls.get(target)).data;
    } else {
      pull = (
        await client.rest.pulls.update({ ...target, state: change.kind === 'close' ? 'closed' : 'open' })
      ).data;
    }
  } catch (error) {
    if ((error as { status?: number }).status === 405)
      throw codedError(ErrorCode.CONFLICT, 'GitHub says the pull request cannot be merged now.');
    throw githubFailure(error, deps.redactor);
  }
  return inTransaction(deps, async ({ tx, afterCommit }) => {
    const stored = await storePullLocked(tx, repository, pull);
    const event = stateChangeEvent(repository, stored);
    if (event) {
      await deps.events.record(tx, [event]);
      afterCommit(() => publishPullRequestChanges(deps, [event]));
    }
    return stored.saved;
  });
}
