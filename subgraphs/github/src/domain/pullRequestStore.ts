import type { PrismaClient, PullRequest, PullRequestState, Repository } from '../generated/prisma/client.js';
import type { Tx } from './deps.js';

/** GitHub's pull request as the REST API and webhooks carry it (the fields this subgraph keeps). */
export interface GithubPull {
  number: number;
  html_url: string;
  title: string;
  state: string;
  draft?: boolean | undefined;
  merged?: boolean | null | undefined;
  merged_at?: string | null | undefined;
  merge_commit_sha?: string | null | undefined;
  mergeable?: boolean | null | undefined;
  /** `label` is `<owner of the head's repository>:<ref>`: a fork's branch of the same name is not ours. */
  head: { ref: string; sha: string; label?: string | undefined };
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

/** Stores GitHub's pull request (by repository and number), linking it to `taskId` when given. */
export function savePull(tx: Tx, repository: Repository, pull: GithubPull, taskId?: string | null) {
  const columns = pullRequestColumns(pull);
  return tx.pullRequest.upsert({
    where: { repositoryId_number: { repositoryId: repository.id, number: pull.number } },
    create: { ...columns, repositoryId: repository.id, taskId: taskId ?? null },
    update: { ...columns, ...(taskId ? { taskId } : {}) },
  });
}

/** A stored pull request with what it was before, for deciding whether a change is news. */
export interface StoredPull {
  saved: PullRequest;
  /** The state stored before (null: this transaction created the row). */
  previous: PullRequestState | null;
  /** The task it was linked to before (null: none, or this transaction created the row). */
  previousTaskId: string | null;
}

/**
 * Stores GitHub's pull request like {@link savePull}, holding its row lock until the caller's transaction ends:
 * the webhook path, the poller, the mutations and the task path serialise on it, so the one that comes second
 * sees what the first stored and records no second event for the same fact. A row that does not exist yet is
 * inserted first (`ON CONFLICT DO NOTHING`): two transactions storing the same new pull request meet at the
 * unique index (repository, number), so exactly one of them creates it and the other waits, then finds it.
 * A pull request stored for the first time without a task (GitHub's delivery came before the task path) is
 * linked to the task that reserved its head branch ({@link reserveHeadBranch}), when the reservation has not
 * lapsed and that task has no pull request yet.
 */
export async function storePullLocked(
  tx: Tx,
  repository: Repository,
  pull: GithubPull,
  taskId?: string | null,
): Promise<StoredPull> {
  const { count: created } = await tx.pullRequest.createMany({
    data: [{ ...pullRequestColumns(pull), repositoryId: repository.id }],
    skipDuplicates: true,
  });
  const rows =
    created > 0
      ? []
      : await tx.$queryRaw<Array<{ state: PullRequestState; task_id: string | null }>>`
          SELECT state, task_id FROM "github"."pull_requests"
          WHERE repository_id = ${repository.id}::uuid AND number = ${pull.number}
          FOR UPDATE`;
  let saved = await savePull(tx, repository, pull, taskId);
  if (created > 0 && !saved.taskId) saved = await linkReservedTask(tx, repository, saved, pull);
  return { saved, previous: rows[0]?.state ?? null, previousTaskId: rows[0]?.task_id ?? null };
}

/** Whether the pull request's head is a branch of the repository itself (not a fork's of the same name). */
function headIsOwnBranch(repository: Repository, pull: GithubPull): boolean {
  const owner = pull.head.label?.split(':')[0];
  return owner !== undefined && owner.toLowerCase() === repository.owner.toLowerCase();
}

async function linkReservedTask(
  tx: Tx,
  repository: Repository,
  saved: PullRequest,
  pull: GithubPull,
): Promise<PullRequest> {
  if (!headIsOwnBranch(repository, pull)) return saved;
  // A lapsed reservation belongs to a task path that never stored its pull request (GitHub refused the create, the
  // process died): a pull request opened from the branch later is someone's new work, not that task's.
  const [reservation] = await tx.$queryRaw<Array<{ task_id: string }>>`
    SELECT task_id FROM "github"."pull_request_reservations"
    WHERE repository_id = ${repository.id}::uuid AND head_branch = ${saved.headBranch} AND expires_at > now()`;
  if (!reservation) return saved;
  // One pull request per task: a task whose pull request is stored already keeps it.
  const linked = await tx.pullRequest.count({ where: { taskId: reservation.task_id } });
  if (linked > 0) return saved;
  return tx.pullRequest.update({ where: { id: saved.id }, data: { taskId: reservation.task_id } });
}

/**
 * Claims the pull request's one `PullRequestOpened`: true for the first caller only (the row's
 * `opened_recorded_at` is set under its lock, which {@link storePullLocked} took), false once it was recorded.
 */
export async function claimOpenedEvent(tx: Tx, pullRequestId: string): Promise<boolean> {
  const claimed = await tx.$executeRaw`
    UPDATE "github"."pull_requests" SET opened_recorded_at = now()
    WHERE id = ${pullRequestId}::uuid AND opened_recorded_at IS NULL`;
  return claimed > 0;
}

/**
 * Reserves `headBranch` of the repository for `taskId` for `ttlMs` (database clock), committed before GitHub is
 * asked to open a pull request from it: GitHub's `opened` delivery can only follow the request, so it finds the
 * reservation and links the task, even when it is processed before the task path stores the pull request. A newer
 * reservation of the branch replaces an older one (and renews the lifetime). The repository's lapsed reservations
 * go in the same transaction, so they are swept even where no worker runs ({@link sweepLapsedReservations}).
 */
export async function reserveHeadBranch(
  prisma: PrismaClient,
  repository: Repository,
  headBranch: string,
  taskId: string,
  ttlMs: number,
): Promise<void> {
  await prisma.$transaction([
    prisma.$executeRaw`
      DELETE FROM "github"."pull_request_reservations"
      WHERE repository_id = ${repository.id}::uuid AND expires_at <= now()`,
    prisma.$executeRaw`
      INSERT INTO "github"."pull_request_reservations" (repository_id, head_branch, task_id, expires_at)
      VALUES (${repository.id}::uuid, ${headBranch}, ${taskId}::uuid,
              now() + make_interval(secs => ${ttlMs / 1000}::double precision))
      ON CONFLICT (repository_id, head_branch) DO UPDATE
        SET task_id = EXCLUDED.task_id, created_at = now(), expires_at = EXCLUDED.expires_at`,
  ]);
}

/**
 * Deletes every lapsed reservation (they no longer link anything; the pull-request worker calls this on its
 * timer).
 * @returns how many were deleted
 */
export function sweepLapsedReservations(prisma: PrismaClient): Promise<number> {
  return prisma.$executeRaw`DELETE FROM "github"."pull_request_reservations" WHERE expires_at <= now()`;
}

/** Removes the task's reservation of `headBranch` (in the transaction that stores its pull request). */
export async function releaseHeadBranch(
  tx: Tx,
  repository: Repository,
  headBranch: string,
  taskId: string,
): Promise<void> {
  await tx.pullRequestReservation.deleteMany({
    where: { repositoryId: repository.id, headBranch, taskId },
  });
}
