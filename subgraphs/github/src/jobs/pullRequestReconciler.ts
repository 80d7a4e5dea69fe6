import type { GithubOctokit } from '@cap/github-client';
import type { GithubDeps } from '../domain/deps.js';
import {
  applyPolledPull,
  claimDuePulls,
  deferPulls,
  type PollOutcome,
  type PollTarget,
} from '../domain/pullRequestPolling.js';
import type { GithubPull } from '../domain/pullRequestStore.js';
import type { Repository } from '../generated/prisma/client.js';
import { WakeableLoop } from './wakeableLoop.js';

/** GitHub's answer to a conditional request whose ETag still matches. */
const HTTP_NOT_MODIFIED = 304;
/** GitHub's rate-limit headers (REST). */
const RATE_REMAINING = 'x-ratelimit-remaining';
const RATE_RESET = 'x-ratelimit-reset';

/** Options of {@link PullRequestReconciler}. */
export interface ReconcilerOptions {
  /** How long after a poll a pull request is polled again, ms; also the timer of the loop (0: never started). */
  intervalMs: number;
  /** Pull requests claimed per batch (default 20). */
  batchSize?: number | undefined;
  /** Below this many requests left on a credential, it waits for GitHub's reset (default 100). */
  minRateRemaining?: number | undefined;
}

/** Counts of one pass, for the log and tests. */
export interface PassCounts {
  polled: number;
  changed: number;
  notModified: number;
  deferred: number;
  failed: number;
}

type Answer =
  | { kind: 'notModified'; rate: RateLimit | null }
  | { kind: 'fresh'; pull: GithubPull; etag: string | null; rate: RateLimit | null };

interface RateLimit {
  remaining: number;
  resetAt: Date;
}

/**
 * The safety net for lost webhook deliveries: periodically re-reads the open pull requests the platform opened
 * for tasks and applies a merge or close it missed exactly as the webhook path does (domain/pullRequestPolling).
 * Requests are conditional (`If-None-Match` with the stored ETag: an unchanged pull request answers 304 and costs
 * no rate limit); a credential whose `x-ratelimit-remaining` runs low is left alone until its reset (its pull
 * requests are put back until then); batches are bounded; several instances share the work through the claim
 * (`FOR UPDATE SKIP LOCKED`). A failed request (GitHub 5xx after the client's retries, a timeout) leaves the pull
 * request for its next turn: nothing is lost.
 */
export class PullRequestReconciler {
  readonly #deps: GithubDeps;
  readonly #loop: WakeableLoop;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #minRateRemaining: number;
  /** Credentials waiting for their rate limit's reset (epoch ms), by {@link credentialKey}. */
  readonly #pausedUntil = new Map<string, number>();
  #last: PassCounts = emptyCounts();

  constructor(deps: GithubDeps, options: ReconcilerOptions) {
    this.#deps = deps;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? 20;
    this.#minRateRemaining = options.minRateRemaining ?? 100;
    this.#loop = new WakeableLoop({
      name: 'pull-request reconciler',
      intervalMs: Math.max(options.intervalMs, 1),
      logger: deps.logger,
      drain: () => this.#drain(),
    });
  }

  /** Starts the timer, unless polling is disabled (`intervalMs` 0). */
  start(): void {
    if (this.#intervalMs > 0) this.#loop.start();
  }

  /** Runs a pass now (coalesced with one in progress) and resolves when it is over, with its counts. */
  async pollNow(): Promise<PassCounts> {
    this.#loop.notify();
    await this.#loop.idle();
    return this.#last;
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #drain(): Promise<void> {
    const counts = emptyCounts();
    const clients = new Map<string, Promise<GithubOctokit>>();
    const repositories = new Map<string, Repository | null>();
    for (;;) {
      if (this.#loop.stopped) break;
      const targets = await claimDuePulls(this.#deps, {
        limit: this.#batchSize,
        intervalMs: Math.max(this.#intervalMs, 1_000),
      });
      for (const target of targets) {
        if (this.#loop.stopped) break;
        let repository = repositories.get(target.repositoryId);
        if (repository === undefined) {
          repository = await this.#deps.prisma.repository.findUnique({ where: { id: target.repositoryId } });
          repositories.set(target.repositoryId, repository);
        }
        if (!repository) continue;
        const key = credentialKey(repository);
        const pausedUntil = this.#pausedUntil.get(key);
        if (pausedUntil !== undefined && pausedUntil > Date.now()) {
          await deferPulls(this.#deps, [target.id], new Date(pausedUntil));
          counts.deferred += 1;
          continue;
        }
        this.#pausedUntil.delete(key);
        const outcome = await this.#pollOne(repository, target, clients, key);
        counts.polled += 1;
        if (outcome === 'failed') counts.failed += 1;
        else if (outcome === 'notModified') counts.notModified += 1;
        else if (outcome === 'changed') counts.changed += 1;
      }
      if (targets.length < this.#batchSize) break;
    }
    this.#last = counts;
    if (counts.polled > 0 || counts.deferred > 0)
      this.#deps.logger.debug({ pullRequestPoll: counts }, 'pull requests polled');
  }

  async #pollOne(
    repository: Repository,
    target: PollTarget,
    clients: Map<string, Promise<GithubOctokit>>,
    key: string,
  ): Promise<PollOutcome | 'notModified' | 'failed'> {
    const deps = this.#deps;
    try {
      let client = clients.get(key);
      if (!client) {
        client = deps.access
          .clientFor(repository, { access: repository.access, userId: repository.connectedById })
          .then((resolved) => resolved.client);
        clients.set(key, client);
      }
      const answer = await fetchPull(await client, repository, target);
      if (answer.rate && answer.rate.remaining <= this.#minRateRemaining) {
        this.#pausedUntil.set(key, answer.rate.resetAt.getTime());
        deps.logger.warn(
          { credential: key.split(':')[0], remaining: answer.rate.remaining, resetAt: answer.rate.resetAt },
          'GitHub rate limit low: pull request polling waits for the reset',
        );
      }
      if (answer.kind === 'notModified') return 'notModified';
      return await applyPolledPull(deps, repository, target, answer.pull, answer.etag);
    } catch (error) {
      // The claim already moved its next poll one interval ahead: it is retried then.
      clients.delete(key);
      deps.logger.warn(
        {
          pullRequestId: target.id,
          status: (error as { status?: unknown }).status,
          error: deps.redactor.redact(error instanceof Error ? error.message : String(error)).slice(0, 300),
        },
        'polling a pull request failed; retried at its next turn',
      );
      return 'failed';
    }
  }
}

function emptyCounts(): PassCounts {
  return { polled: 0, changed: 0, notModified: 0, deferred: 0, failed: 0 };
}

/** Which rate limit a repository's requests count against: the App's installation, the token, or a user's. */
function credentialKey(repository: Repository): string {
  if (repository.access === 'OAUTH') return `OAUTH:${repository.connectedById ?? ''}`;
  if (repository.access === 'APP') return `APP:${repository.owner.toLowerCase()}`;
  return 'TOKEN';
}

function rateOf(headers: Record<string, unknown> | undefined): RateLimit | null {
  const remaining = Number(headers?.[RATE_REMAINING]);
  const reset = Number(headers?.[RATE_RESET]);
  if (!Number.isFinite(remaining) || !Number.isFinite(reset)) return null;
  return { remaining, resetAt: new Date(reset * 1000) };
}

/** One conditional read of the pull request (`If-None-Match` when an ETag is stored). */
async function fetchPull(client: GithubOctokit, repository: Repository, target: PollTarget): Promise<Answer> {
  try {
    const response = await client.rest.pulls.get({
      owner: repository.owner,
      repo: repository.name,
      pull_number: target.number,
      ...(target.etag ? { headers: { 'if-none-match': target.etag } } : {}),
    });
    const headers = response.headers as Record<string, unknown>;
    return {
      kind: 'fresh',
      pull: response.data,
      etag: typeof headers['etag'] === 'string' ? headers['etag'] : null,
      rate: rateOf(headers),
    };
  } catch (error) {
    const failure = error as { status?: unknown; response?: { headers?: Record<string, unknown> } };
    if (failure.status === HTTP_NOT_MODIFIED)
      return { kind: 'notModified', rate: rateOf(failure.response?.headers) };
    throw error;
  }
}
