import { randomUUID } from 'node:crypto';
import { isCiLogError, parseJobLog, type CiFailure, type JobLogReport } from '@cap/ci-logs';
import { ErrorCode } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { Build } from '../generated/prisma/client.js';
import { publishBuildChanged } from './buildFeed.js';
import type { CicdDeps } from './deps.js';
import { decideFix } from './fixDecisions.js';
import { readRunLogArchive } from './runLogArchive.js';
import { GithubLogUnavailableError, GithubNotConfiguredError, type ApiJob } from './githubActions.js';

/** Builds whose logs are parsed per pass. */
const BATCH = 10;

/** A failure as stored, with the job it came from. */
type JobFailure = CiFailure & { job: string };

/** A coded reason a build's logs could not be read (stored on the build; the build stays visible). */
interface ParseProblem {
  code: string;
  message: string;
}

/**
 * Understands failed builds: lists the run's jobs, downloads the failed jobs' logs, parses them with @cap/ci-logs
 * and stores the failures, then decides the fix, in one transaction conditional on the build still waiting
 * (`log_state = PENDING`), so two processors (or two instances) store and decide once. A log that cannot be read
 * (binary, over the size limit, GitHub refusing) is a coded parse error on the build, never a crash.
 *
 * Instances share the work through a claim with a lease on the build (`log_claimed_by`, `log_claim_expires_at`,
 * database clock; ADR 0038): a processor downloads only the builds it claimed, renews the claim while it works,
 * releases it when it fails, and stores only while it still holds it, so one instance downloads a run's logs and an
 * instance that died leaves builds another takes once the lease lapses.
 */
export class LogProcessor {
  #running: Promise<void> | null = null;
  /** Builds being processed by this instance, by id. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #again = false;
  #closed = false;
  /** This processor's claim owner id: two processes (or two processors in one) never share one. */
  readonly #owner = randomUUID();

  constructor(private readonly deps: CicdDeps) {}

  /** Processes the waiting builds now (coalesced: a wake while running runs one more pass). */
  wake(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          while (!this.#closed && (await this.#pass()) === BATCH);
        } while (this.#again && !this.#closed);
      } catch (error) {
        this.deps.logger.error({ err: error }, 'cicd: log processing failed');
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  /**
   * One batch of the waiting builds no other instance holds a live claim on (so a pass does not list again and again
   * builds another instance is downloading).
   */
  async #pass(): Promise<number> {
    const ids = await this.deps.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "cicd"."builds"
      WHERE log_state = 'PENDING' AND (log_claim_expires_at IS NULL OR log_claim_expires_at < now())
      ORDER BY completed_at ASC NULLS LAST, id
      LIMIT ${BATCH}`;
    const builds = await this.deps.prisma.build.findMany({
      where: { id: { in: ids.map((row) => row.id) } },
      orderBy: [{ completedAt: 'asc' }, { id: 'asc' }],
    });
    for (const build of builds) await this.process(build);
    return ids.length;
  }

  /**
   * Parses one build's logs and decides its fix. A build this instance is already processing is not downloaded
   * again (the call joins the one in flight), nor one that is no longer waiting when the call starts (a pass that
   * listed it just before another call finished it, or a wake racing an explicit call), nor one another instance
   * holds a live claim on.
   */
  process(build: Build): Promise<void> {
    let running = this.#inFlight.get(build.id);
    if (!running) {
      running = this.#processIfWaiting(build).finally(() => this.#inFlight.delete(build.id));
      this.#inFlight.set(build.id, running);
    }
    return running;
  }

  async #processIfWaiting(build: Build): Promise<void> {
    if (!(await this.#claim(build.id))) return;
    const ttlMs = this.deps.settings.logClaimTtlMs;
    // Renewed well before it lapses, so a slow download (large archives) is not taken over while it is alive.
    const renewal = setInterval(
      () => {
        this.#renew(build.id).catch((error: unknown) =>
          this.deps.logger.warn({ err: error, buildId: build.id }, 'cicd: log claim not renewed'),
        );
      },
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    renewal.unref();
    try {
      await this.#process(build);
    } catch (error) {
      // The store failed (the database, most likely): let any instance retry now rather than after the lease.
      await this.#release(build.id).catch((releaseError: unknown) =>
        this.deps.logger.warn({ err: releaseError, buildId: build.id }, 'cicd: log claim not released'),
      );
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }

  /** Takes the build's claim when it is waiting and nobody holds a live one; true when this processor won. */
  async #claim(buildId: string): Promise<boolean> {
    const won = await this.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds"
      SET log_claimed_by = ${this.#owner},
          log_claim_expires_at = now() + make_interval(secs => ${this.deps.settings.logClaimTtlMs / 1000}::double precision)
      WHERE id = ${buildId}::uuid AND log_state = 'PENDING'
        AND (log_claim_expires_at IS NULL OR log_claim_expires_at < now())`;
    return won > 0;
  }

  async #renew(buildId: string): Promise<void> {
    await this.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds"
      SET log_claim_expires_at = now() + make_interval(secs => ${this.deps.settings.logClaimTtlMs / 1000}::double precision)
      WHERE id = ${buildId}::uuid AND log_state = 'PENDING' AND log_claimed_by = ${this.#owner}`;
  }

  async #release(buildId: string): Promise<void> {
    await this.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds" SET log_claimed_by = NULL, log_claim_expires_at = NULL
      WHERE id = ${buildId}::uuid AND log_state = 'PENDING' AND log_claimed_by = ${this.#owner}`;
  }

  async #process(build: Build): Promise<void> {
    const { deps } = this;
    const failures: JobFailure[] = [];
    let jobs: ApiJob[] = [];
    let problem: ParseProblem | null = null;
    // Failed jobs whose plain log GitHub no longer hands out (404/410): read from the run's archive instead.
    const gone: string[] = [];
    const read = new Set<string>();
    try {
      jobs = await deps.github.listJobs(
        build.repository,
        Number(build.runId),
        build.runAttempt,
        deps.settings.maxJobsPerRun,
      );
      for (const job of jobs) {
        if (job.conclusion !== 'failure' && job.conclusion !== 'timed_out') continue;
        try {
          const log = await deps.github.jobLog(build.repository, job.id);
          // Node's web streams are async iterables of their chunks (the DOM typing of ReadableStream omits it).
          const report = await parseJobLog(log as unknown as AsyncIterable<Uint8Array>, {
            job: job.name,
            limits: { maxLogBytes: deps.settings.logMaxBytes },
          });
          read.add(job.name);
          failures.push(...report.failures.map((failure) => ({ ...failure, job: job.name })));
        } catch (error) {
          if (error instanceof GithubLogUnavailableError && error.gone) {
            gone.push(job.name);
            continue;
          }
          problem ??= problemOf(error, job.name);
          if (!isCiLogError(error) && !(error instanceof GithubLogUnavailableError)) throw error;
        }
      }
      if (jobs.length === 0 || gone.length > 0) {
        try {
          const archive = await readRunLogArchive(deps, build);
          for (const report of archiveJobs(archive.jobs, gone, read))
            failures.push(...report.failures.map((failure) => ({ ...failure, job: report.job ?? 'run' })));
        } catch (error) {
          problem ??= problemOf(error, null);
          if (!isCiLogError(error) && !(error instanceof GithubLogUnavailableError)) throw error;
        }
      }
    } catch (error) {
      problem ??= problemOf(error, null);
      deps.logger.warn({ err: error, buildId: build.id }, 'cicd: logs of a failed build not read');
    }
    await inTransaction(deps, async (uow) => {
      // Only while this processor still holds the claim: one whose lease lapsed and was taken over stores nothing.
      const moved = await uow.tx.build.updateMany({
        where: { id: build.id, logState: 'PENDING', logClaimedBy: this.#owner },
        data: {
          logState: problem && failures.length === 0 ? 'FAILED' : 'PARSED',
          parseErrorCode: problem?.code ?? null,
          parseError: problem?.message ?? null,
          logClaimedBy: null,
          logClaimExpiresAt: null,
        },
      });
      if (moved.count === 0) return;
      uow.afterCommit(() => publishBuildChanged(deps, build));
      for (const job of jobs)
        await uow.tx.buildJob.upsert({
          where: { buildId_jobId: { buildId: build.id, jobId: BigInt(job.id) } },
          create: { buildId: build.id, jobId: BigInt(job.id), ...jobFields(job) },
          update: jobFields(job),
        });
      if (failures.length > 0)
        await uow.tx.buildFailure.createMany({
          data: failures.map((failure) => ({
            buildId: build.id,
            job: failure.job.slice(0, 500),
            tool: failure.tool,
            file: failure.file ?? null,
            line: failure.line ?? null,
            column: failure.column ?? null,
            testName: failure.testName ?? null,
            message: failure.message,
            excerpt: failure.excerpt,
            fingerprint: failure.fingerprint,
            occurrences: failure.occurrences,
          })),
        });
      const stored = await uow.tx.buildFailure.findMany({
        where: { buildId: build.id },
        orderBy: { id: 'asc' },
      });
      const fresh = await uow.tx.build.findUniqueOrThrow({ where: { id: build.id } });
      await decideFix(deps, uow.tx, fresh, stored);
    });
  }
}

/**
 * The archive's jobs to take failures from: every job when the run listed none; else the failed jobs whose plain
 * log was gone (GitHub names the archive's folders after the jobs), or, when no folder carries such a name (GitHub
 * shortens and sanitises them), every job not already read from its plain log.
 */
function archiveJobs(reports: JobLogReport[], gone: readonly string[], read: ReadonlySet<string>) {
  if (gone.length === 0) return reports;
  const named = reports.filter((report) => report.job !== undefined && gone.includes(report.job));
  return named.length > 0 ? named : reports.filter((report) => !read.has(report.job ?? ''));
}

function jobFields(job: ApiJob) {
  return {
    name: job.name.slice(0, 500),
    status: job.status,
    conclusion: job.conclusion,
    startedAt: job.started_at ? new Date(job.started_at) : null,
    completedAt: job.completed_at ? new Date(job.completed_at) : null,
    steps: (job.steps ?? []).slice(0, 200).map((step) => ({
      name: step.name.slice(0, 500),
      number: step.number,
      status: step.status,
      conclusion: step.conclusion,
      startedAt: step.started_at ?? null,
      completedAt: step.completed_at ?? null,
    })),
  };
}

function problemOf(error: unknown, job: string | null): ParseProblem {
  const where = job ? ` (job ${job.slice(0, 100)})` : '';
  if (isCiLogError(error)) return { code: error.code, message: `${error.message}${where}` };
  if (error instanceof GithubNotConfiguredError)
    return { code: ErrorCode.GITHUB_NOT_CONFIGURED, message: error.message };
  if (error instanceof GithubLogUnavailableError)
    return { code: ErrorCode.GITHUB_UNAVAILABLE, message: `${error.message}${where}` };
  const status = (error as { status?: unknown }).status;
  return {
    code: ErrorCode.GITHUB_UNAVAILABLE,
    message: `GitHub did not hand out the run's jobs or logs${typeof status === 'number' ? ` (${status})` : ''}${where}.`,
  };
}
