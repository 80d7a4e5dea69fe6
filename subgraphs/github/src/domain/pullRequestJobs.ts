import type { TaskCompleted } from '@cap/events';
import { ErrorCode } from '@cap/runtime';
import type { PullRequestJob } from '../generated/prisma/client.js';
import type { GithubDeps, Tx } from './deps.js';
import { parseRepositoryReference } from './validation.js';

/** A TaskCompleted payload (what a pull request is built from). */
export type CompletedTask = ReturnType<typeof TaskCompleted.parse>['payload'];

/** After this many failed attempts a job is FAILED (its `last_error` says why). */
export const MAX_PULL_REQUEST_JOB_ATTEMPTS = 10;
/** The longest wait between two attempts, ms. */
export const MAX_PULL_REQUEST_JOB_BACKOFF_MS = 5 * 60_000;

/** Why a task gets no pull request at all (nothing is recorded), or null when it gets one. */
export function pullRequestSkipReason(task: CompletedTask): string | null {
  if (!task.repository || !parseRepositoryReference(task.repository))
    return 'the task names no GitHub repository';
  if (!task.branch) return 'the task pushed no branch';
  return null;
}

/**
 * Records the intent to open or update the task's pull request in the caller's transaction (the consumer's unit
 * of work): one job per task. A newer attempt of the task replaces the payload, bumps the version and makes the
 * job pending again; an older attempt arriving late changes nothing.
 * @returns whether a job is now pending for the task
 */
export async function recordPullRequestJob(tx: Tx, task: CompletedTask): Promise<boolean> {
  const changed = await tx.$executeRaw`
    INSERT INTO "github"."pull_request_jobs" (task_id, task_attempt, payload, updated_at)
    VALUES (${task.taskId}::uuid, ${task.attempt}, ${JSON.stringify(task)}::jsonb, now())
    ON CONFLICT (task_id) DO UPDATE SET
      task_attempt = EXCLUDED.task_attempt,
      payload = EXCLUDED.payload,
      version = "pull_request_jobs".version + 1,
      status = 'PENDING',
      attempts = 0,
      last_error = NULL,
      error_code = NULL,
      next_attempt_at = now(),
      updated_at = now()
    WHERE "pull_request_jobs".task_attempt <= EXCLUDED.task_attempt`;
  return changed > 0;
}

/** A job a worker holds the lease of. */
export type LeasedJob = Pick<PullRequestJob, 'taskId' | 'version' | 'attempts'> & { payload: CompletedTask };

/**
 * Leases up to `limit` due jobs for `leaseMs` (a short transaction of its own, `FOR UPDATE SKIP LOCKED`, so two
 * instances never lease the same job; a lease a crashed instance left runs out and the job is taken again).
 */
export async function leaseDueJobs(deps: GithubDeps, limit: number, leaseMs: number): Promise<LeasedJob[]> {
  const rows = await deps.prisma.$queryRaw<
    Array<{ task_id: string; version: number; attempts: number; payload: CompletedTask }>
  >`
    UPDATE "github"."pull_request_jobs" AS j
    SET lease_until = now() + make_interval(secs => ${leaseMs / 1000}::double precision),
        attempts = j.attempts + 1, updated_at = now()
    WHERE j.task_id IN (
      SELECT task_id FROM "github"."pull_request_jobs"
      WHERE status = 'PENDING' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
      ORDER BY next_attempt_at LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING j.task_id, j.version, j.attempts, j.payload`;
  return rows.map((row) => ({
    taskId: row.task_id,
    version: row.version,
    attempts: row.attempts,
    payload: row.payload,
  }));
}

/**
 * Marks a leased job DONE in `tx` (the transaction that stored the pull request), unless a newer TaskCompleted
 * replaced its payload meanwhile: then it stays pending and is done again with the newer payload.
 */
export async function completeJob(
  tx: Tx,
  job: LeasedJob,
  pullRequestId: string | null,
  note: string | null = null,
): Promise<void> {
  const done = await tx.$executeRaw`
    UPDATE "github"."pull_request_jobs"
    SET status = 'DONE', lease_until = NULL, last_error = ${note}, error_code = NULL,
        pull_request_id = ${pullRequestId}::uuid, updated_at = now()
    WHERE task_id = ${job.taskId}::uuid AND version = ${job.version}`;
  if (done === 0)
    await tx.$executeRaw`
      UPDATE "github"."pull_request_jobs" SET lease_until = NULL, updated_at = now()
      WHERE task_id = ${job.taskId}::uuid`;
}

/** A failure of one attempt: permanent ones (and the last allowed attempt) end the job FAILED. */
export interface JobFailure {
  message: string;
  code: string | null;
  permanent: boolean;
}

/**
 * How a failure counts: a repository that is not connected or not found, no credential, and GitHub refusing the
 * request (401, 403 after the client's rate-limit handling, 422) are permanent; GitHub being unavailable (5xx,
 * timeouts) and anything unexpected are retried.
 */
export function classifyJobFailure(error: unknown, redact: (text: string) => string): JobFailure {
  const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 1_000);
  const extensions = (error as { extensions?: { code?: unknown; status?: unknown } }).extensions;
  const code = typeof extensions?.code === 'string' ? extensions.code : null;
  if (code === ErrorCode.NOT_FOUND || code === ErrorCode.GITHUB_NOT_CONFIGURED)
    return { message, code, permanent: true };
  if (code === ErrorCode.GITHUB_UNAVAILABLE) {
    const status = typeof extensions?.status === 'number' ? extensions.status : null;
    return { message, code, permanent: status === 401 || status === 403 || status === 422 };
  }
  return { message, code, permanent: false };
}

/**
 * Records a failed attempt: FAILED when permanent or out of attempts, else pending again after an exponential
 * backoff (`baseMs` × 2^(attempts-1), at most {@link MAX_PULL_REQUEST_JOB_BACKOFF_MS}). A job whose payload a
 * newer TaskCompleted replaced meanwhile is left to its new version.
 * @returns whether the job is now FAILED
 */
export async function failJob(
  deps: GithubDeps,
  job: LeasedJob,
  failure: JobFailure,
  baseMs: number,
): Promise<boolean> {
  const failed = failure.permanent || job.attempts >= MAX_PULL_REQUEST_JOB_ATTEMPTS;
  const delayMs = Math.min(baseMs * 2 ** Math.max(0, job.attempts - 1), MAX_PULL_REQUEST_JOB_BACKOFF_MS);
  await deps.prisma.$executeRaw`
    UPDATE "github"."pull_request_jobs"
    SET status = ${failed ? 'FAILED' : 'PENDING'}::"github"."PullRequestJobStatus",
        last_error = ${failure.message}, error_code = ${failure.code}, lease_until = NULL,
        next_attempt_at = now() + make_interval(secs => ${delayMs / 1000}::double precision),
        updated_at = now()
    WHERE task_id = ${job.taskId}::uuid AND version = ${job.version}`;
  return failed;
}
