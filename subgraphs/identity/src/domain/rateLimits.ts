import {
  codedError,
  ErrorCode,
  LogThrottle,
  MemoryKeyValueStore,
  type KeyValueStore,
  type Logger,
} from '@cap/runtime';

/** A fixed-window limit on one operation per client address. */
export interface RateLimit {
  /** The operation, in the counter's key and in logs (e.g. `login`, `refreshSession`). */
  operation: string;
  /** Attempts allowed per window. */
  limit: number;
  /** Window length, seconds; the window starts with its first attempt. */
  windowSeconds: number;
  /** What the caller is told, e.g. 'Too many login attempts from this address.' */
  message: string;
}

/** What happens while the shared store (Redis) is unreachable; the router's `RATE_LIMIT_FAILURE_MODE` twin. */
export type RateLimitFailureMode = 'open' | 'closed';

/**
 * Attempt counters in the shared key-value store (atomic across instances) with a fallback for when that store
 * is unreachable (ADR 0012). Failing open would let anyone guess passwords at full speed during a Redis outage;
 * failing closed locks every interactive user out once their access tokens lapse. `open` (the default) counts in
 * this process instead: the limit then holds per instance rather than per deployment, which still stops
 * hammering. `closed` refuses with RATE_LIMITER_UNAVAILABLE. Counting returns to Redis as soon as it answers.
 */
export class RateLimitCounter {
  readonly #shared: KeyValueStore;
  readonly #local = new MemoryKeyValueStore();
  readonly #failureMode: RateLimitFailureMode;
  readonly #logger: Logger;
  readonly #logThrottle = new LogThrottle(60_000);
  #degraded = false;

  constructor(options: { shared: KeyValueStore; failureMode: RateLimitFailureMode; logger: Logger }) {
    this.#shared = options.shared;
    this.#failureMode = options.failureMode;
    this.#logger = options.logger;
  }

  /** Counts one hit of `key` in a fixed window of `windowMs` (see {@link KeyValueStore.hit}). */
  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    try {
      const result = await this.#shared.hit(key, windowMs);
      if (this.#degraded) {
        this.#degraded = false;
        this.#logger.info('rate limits: the shared store is reachable again');
      }
      return result;
    } catch (error) {
      this.#degraded = true;
      const pass = this.#logThrottle.take('unreachable');
      if (pass) {
        this.#logger.warn(
          { err: error, failureMode: this.#failureMode, suppressed: pass.suppressed },
          this.#failureMode === 'open'
            ? 'rate limits: shared store unreachable; counting in this process'
            : 'rate limits: shared store unreachable; refusing',
        );
      }
      if (this.#failureMode === 'closed') {
        throw codedError(
          ErrorCode.RATE_LIMITER_UNAVAILABLE,
          'Rate limiting is unavailable; try again shortly.',
          { retryAfterSeconds: 5 },
        );
      }
      return this.#local.hit(key, windowMs);
    }
  }

  /** Releases the in-process fallback. */
  async close(): Promise<void> {
    await this.#local.close();
  }
}

/**
 * Counts one attempt at `rule.operation` from `clientIp` (the address the router saw), atomically across
 * instances (in this process while Redis is unreachable, see {@link RateLimitCounter}), and throws RATE_LIMITED
 * with `extensions.retryAfterSeconds` once the window holds more than `rule.limit` attempts. Refused attempts
 * count too: hammering does not shorten the wait.
 */
export async function enforceRateLimit(
  deps: { rateLimits: RateLimitCounter; logger: Logger },
  rule: RateLimit,
  clientIp: string,
): Promise<void> {
  const { count, resetMs } = await deps.rateLimits.hit(
    `identity:${rule.operation}:ip:${clientIp}`,
    rule.windowSeconds * 1000,
  );
  if (count <= rule.limit) return;
  if (count === rule.limit + 1)
    deps.logger.warn({ operation: rule.operation, clientIp, limit: rule.limit }, 'rate limit reached');
  throw codedError(ErrorCode.RATE_LIMITED, rule.message, {
    retryAfterSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
    limit: rule.limit,
    windowSeconds: rule.windowSeconds,
  });
}
