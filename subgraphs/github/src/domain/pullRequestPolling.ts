import { inTransaction } from '@cap/runtime/kit';
import type { PullRequestState, Repository } from '../generated/prisma/client.js';
import { publishPullRequestChanges } from '../live/pullRequestLive.js';
import type { GithubDeps } from './deps.js';
import { stateChangeEvent } from './pullRequestChanges.js';
import { pullRequestColumns, storePullLocked, type GithubPull } from './pullRequestStore.js';

/** An open pull request of a task, claimed by one poller until its next poll is due. */
export interface PollTarget {
  id: string;
  repositoryId: string;
  number: number;
  etag: string | null;
}

/**
 * Claims up to `limit` open task pull requests whose poll is due and moves their next poll `intervalMs` ahead, in
 * one statement (`FOR UPDATE SKIP LOCKED`): two instances never claim the same pull request, and one an instance
 * claimed and then crashed on is simply polled at its next turn. `updated_at` is left alone (it means "the pull
 * request changed", which live subscribers catch up on).
 */
export async function claimDuePulls(
  deps: GithubDeps,
  options: { limit: number; intervalMs: number },
): Promise<PollTarget[]> {
  const rows = await deps.prisma.$queryRaw<
    Array<{ id: string; repository_id: string; number: number; poll_etag: string | null }>
  >`
    UPDATE "github"."pull_requests" AS p
    SET next_poll_at = now() + make_interval(secs => ${options.intervalMs / 1000}::double precision)
    WHERE p.id IN (
      SELECT id FROM "github"."pull_requests"
      WHERE state = 'OPEN' AND task_id IS NOT NULL AND next_poll_at <= now()
      ORDER BY next_poll_at LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING p.id, p.repository_id, p.number, p.poll_etag`;
  return rows.map((row) => ({
    id: row.id,
    repositoryId: row.repository_id,
    number: row.number,
    etag: row.poll_etag,
  }));
}

/** Puts claimed pull requests back until `until` (their credential's rate limit resets then). */
export async function deferPulls(deps: GithubDeps, ids: readonly string[], until: Date): Promise<void> {
  if (ids.length === 0) return;
  await deps.prisma.$executeRaw`
    UPDATE "github"."pull_requests" SET next_poll_at = ${until}
    WHERE id = ANY(${[...ids]}::uuid[])`;
}

/** What applying one poll answer did. */
export type PollOutcome = 'changed' | 'unchanged' | 'gone';

/**
 * Applies GitHub's current representation of a polled pull request, exactly as a webhook delivery would: a
 * merge or a close the platform missed is stored and announced (`PullRequestMerged`/`PullRequestClosed`, live
 * `pullRequestUpdated`) once, under the row lock the webhook path takes too, so whichever comes second finds
 * nothing left to record. Only a change away from OPEN is applied: a stored state that moved meanwhile came from
 * a newer source than this answer. The ETag is kept for the next conditional request.
 */
export async function applyPolledPull(
  deps: GithubDeps,
  repository: Repository,
  target: PollTarget,
  pull: GithubPull,
  etag: string | null,
): Promise<PollOutcome> {
  return inTransaction(deps, async ({ tx, afterCommit }) => {
    const rows = await tx.$queryRaw<Array<{ state: PullRequestState }>>`
      SELECT state FROM "github"."pull_requests" WHERE id = ${target.id}::uuid FOR UPDATE`;
    const stored = rows[0];
    if (!stored) return 'gone';
    // An answer about another pull request is not this one's: nothing of it is kept.
    if (pull.number !== target.number) return 'unchanged';
    const polled = pullRequestColumns(pull).state;
    let outcome: PollOutcome = 'unchanged';
    if (stored.state === 'OPEN' && polled !== 'OPEN') {
      const event = stateChangeEvent(repository, await storePullLocked(tx, repository, pull));
      if (event) {
        await deps.events.record(tx, [event]);
        afterCommit(() => publishPullRequestChanges(deps, [event]));
        outcome = 'changed';
      }
    }
    await tx.$executeRaw`
      UPDATE "github"."pull_requests" SET poll_etag = ${etag} WHERE id = ${target.id}::uuid`;
    return outcome;
  });
}
