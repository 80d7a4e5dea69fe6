import { Redis } from 'ioredis';
import type { Logger } from '@cap/runtime';

/** One budget: `limit` cost units per `windowMs`, shared by every router instance through Redis. */
export interface Budget {
  limit: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Units left in the window after this request (0 when refused). */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  /** Which limiter decided: `redis`, or `local` while Redis is unreachable in fail-open mode. */
  source: 'redis' | 'local';
}

/** Raised in fail-closed mode while Redis is unreachable. */
export class RateLimiterUnavailableError extends Error {
  readonly code = 'RATE_LIMITER_UNAVAILABLE';
}

/**
 * Fixed-window cost budget in one atomic Lua script: read the spent amount, refuse if this cost would exceed
 * the limit (nothing is charged), otherwise charge it and start the window's expiry on the first charge.
 */
const CHARGE = `
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = tonumber(ARGV[2]) end
if spent + cost > limit then return { 0, spent, ttl } end
spent = redis.call('INCRBY', KEYS[1], cost)
if spent == cost then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return { 1, spent, ttl }
`;

/** The same fixed window in process memory: the embedded mode, and the fail-open fallback. */
export class LocalRateLimiter {
  readonly #windows = new Map<string, { spent: number; resetAt: number }>();

  charge(key: string, budget: Budget, cost: number): RateDecision {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { spent: 0, resetAt: now + budget.windowMs };
      this.#windows.set(key, window);
      if (this.#windows.size > 100_000) this.#sweep(now);
    }
    const resetMs = window.resetAt - now;
    if (window.spent + cost > budget.limit) {
      return {
        allowed: false,
        limit: budget.limit,
        remaining: Math.max(0, budget.limit - window.spent),
        resetMs,
        source: 'local',
      };
    }
    window.spent += cost;
    return {
      allowed: true,
      limit: budget.limit,
      remaining: budget.limit - window.spent,
      resetMs,
      source: 'local',
    };
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }
}

export interface RateLimiterOptions {
  /** Unset: local only (embedded, single instance). */
  redisUrl: string | undefined;
  /** While Redis is unreachable: `open` falls back to the local limiter, `closed` refuses requests. */
  failureMode: 'open' | 'closed';
  logger: Logger;
  keyPrefix?: string;
  /** Redis command timeout, ms (default 250): a slow Redis must not slow every request. */
  commandTimeoutMs?: number;
}

/** Cost budgets per principal, atomic across router instances. */
export class RateLimiter {
  readonly #local = new LocalRateLimiter();
  readonly #redis: Redis | null;
  readonly #prefix: string;
  #degraded = false;
  readonly #connected: Promise<void>;

  constructor(private readonly options: RateLimiterOptions) {
    this.#prefix = options.keyPrefix ?? 'cap:rl:';
    this.#redis = options.redisUrl
      ? new Redis(options.redisUrl, {
          // Fail fast while disconnected: no queue, few retries, a short command timeout.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: options.commandTimeoutMs ?? 250,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
          lazyConnect: false,
        })
      : null;
    this.#redis?.on('error', () => undefined);
    this.#connected = this.#redis
      ? new Promise((resolve) => this.#redis?.once('ready', () => resolve()))
      : Promise.resolve();
    this.#redis?.defineCommand('capCharge', { numberOfKeys: 1, lua: CHARGE });
  }

  /**
   * Waits until Redis is connected, at most `timeoutMs`: without an offline queue, commands sent while the first
   * connection is still being made would fail and count as "Redis unavailable". A Redis that is down at start is
   * not waited for longer: the failure mode applies.
   */
  async ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#connected,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Charges `cost` units to `key`'s budget. */
  async charge(key: string, budget: Budget, cost: number): Promise<RateDecision> {
    if (!this.#redis) return this.#local.charge(key, budget, cost);
    try {
      const run = (
        this.#redis as unknown as {
          capCharge(
            key: string,
            limit: number,
            windowMs: number,
            cost: number,
          ): Promise<[number, number, number]>;
        }
      ).capCharge;
      const [allowed, spent, ttl] = await run.call(
        this.#redis,
        `${this.#prefix}${key}`,
        budget.limit,
        budget.windowMs,
        cost,
      );
      if (this.#degraded) {
        this.#degraded = false;
        this.options.logger.info('rate limiter: Redis reachable again');
      }
      return {
        allowed: allowed === 1,
        limit: budget.limit,
        remaining: Math.max(0, budget.limit - spent),
        resetMs: ttl,
        source: 'redis',
      };
    } catch (error) {
      if (!this.#degraded) {
        this.#degraded = true;
        this.options.logger.error(
          { err: error, failureMode: this.options.failureMode },
          'rate limiter: Redis unreachable',
        );
      }
      if (this.options.failureMode === 'closed')
        throw new RateLimiterUnavailableError('Rate limiting is unavailable.');
      return this.#local.charge(key, budget, cost);
    }
  }

  async close(): Promise<void> {
    if (this.#redis) await this.#redis.quit().catch(() => this.#redis?.disconnect());
  }
}
