import type { GithubDeps } from '../domain/deps.js';
import {
  classifyJobFailure,
  completeJob,
  failJob,
  leaseDueJobs,
  type LeasedJob,
} from '../domain/pullRequestJobs.js';
import { openPullRequestForTask } from '../domain/pullRequests.js';
import { sweepLapsedReservations } from '../domain/pullRequestStore.js';
import { LoopWorker } from './wakeableLoop.js';

const BATCH = 10;

/**
 * Carries out the pull-request jobs the TaskCompleted consumer recorded, after their commit and outside any
 * transaction while GitHub is called: leases due jobs (`FOR UPDATE SKIP LOCKED`, a lease of `leaseMs`), opens or
 * updates each task's pull request, and completes the job in the transaction that stores the pull request.
 * Failures are retried with exponential backoff from `retryBaseMs`; permanent ones (a repository not connected,
 * no access) end the job FAILED with the coded error. Woken by the consumer's commit and by a timer. Each run
 * also deletes the head-branch reservations that lapsed (a task path that never stored its pull request).
 */
export class PullRequestWorker extends LoopWorker {
  readonly #deps: GithubDeps;
  readonly #retryBaseMs: number;
  readonly #leaseMs: number;

  constructor(deps: GithubDeps, options: { intervalMs: number; retryBaseMs: number; leaseMs: number }) {
    super({ name: 'pull-request worker', intervalMs: options.intervalMs, logger: deps.logger });
    this.#deps = deps;
    this.#retryBaseMs = options.retryBaseMs;
    this.#leaseMs = options.leaseMs;
  }

  protected async drain(): Promise<void> {
    const swept = await sweepLapsedReservations(this.#deps.prisma);
    if (swept > 0) this.#deps.logger.info({ swept }, 'lapsed pull-request reservations deleted');
    for (;;) {
      if (this.loop.stopped) return;
      const jobs = await leaseDueJobs(this.#deps, BATCH, this.#leaseMs);
      for (const job of jobs) await this.#run(job);
      if (jobs.length < BATCH) return;
    }
  }

  async #run(job: LeasedJob): Promise<void> {
    const deps = this.#deps;
    try {
      // The pull request and its review first (both idempotent), then the job is done: a failure in either
      // leaves the job to be retried.
      const outcome = await openPullRequestForTask(deps, job.payload);
      await deps.prisma.$transaction((tx) =>
        completeJob(
          tx,
          job,
          outcome.kind === 'skipped' ? null : outcome.pullRequest.id,
          outcome.kind === 'skipped' ? outcome.reason : null,
        ),
      );
      if (outcome.kind === 'skipped') {
        deps.logger.info({ taskId: job.taskId, reason: outcome.reason }, 'task pull request skipped');
        return;
      }
      deps.logger.info(
        {
          taskId: job.taskId,
          outcome: outcome.kind,
          number: outcome.pullRequest.number,
          review: outcome.review,
        },
        'task pull request',
      );
    } catch (error) {
      const failure = classifyJobFailure(error, (text) => deps.redactor.redact(text));
      const failed = await failJob(deps, job, failure, this.#retryBaseMs);
      deps.logger.warn(
        { taskId: job.taskId, attempts: job.attempts, code: failure.code, failed, error: failure.message },
        failed ? 'task pull request failed' : 'task pull request attempt failed, retried later',
      );
    }
  }
}
