import { Redis } from 'ioredis';

/**
 * The small slice of Redis the platform needs for caches and throttles, behind one interface with two
 * adapters: Redis (shared by every instance) and in-memory (embedded single-process mode).
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** Stores `value` for `ttlMs` milliseconds. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Counts one hit in a fixed window of `windowMs` that starts with the first hit. Atomic across instances.
   * Returns the count including this hit and the milliseconds until the window resets.
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /** Round-trip latency in ms; throws when unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

// INCR then set the expiry only on the window's first hit: one round trip, atomic on the server.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }
`;

/** Options of {@link RedisKeyValueStore}. */
export interface RedisKeyValueStoreOptions {
  /** Namespaces every key, e.g. per environment (default `cap:`). */
  keyPrefix?: string;
  /**
   * Longest a command may take before it fails, ms (default {@link DEFAULT_COMMAND_TIMEOUT_MS}). Also how long a
   * command waits for the very first connection, so the calls of a starting service are not lost to it.
   */
  commandTimeoutMs?: number;
}

/** Default Redis command timeout of the key-value store, ms: a cache answer is worth less than a slow request. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;

/**
 * Redis adapter; `keyPrefix` namespaces every key (e.g. per environment).
 *
 * Redis is a cache and a throttle here, never the record (ADR 0012), so every call fails fast while Redis is
 * unreachable: no offline queue (a command sent while disconnected is refused at once), no retries of a
 * command across reconnects, and a command timeout for a server that accepts connections but does not answer.
 * Callers treat a failure as a cache miss or fall back (throttles). The connection itself keeps reconnecting
 * with a bounded backoff, so the store recovers on its own when Redis returns.
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #commandTimeoutMs: number;
  #connectedOnce = false;
  readonly #firstConnection: Promise<void>;

  constructor(url: string, options: RedisKeyValueStoreOptions = {}) {
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#redis = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'cap:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#commandTimeoutMs,
      // Reconnect for ever, at most every 2 s: the store must come back by itself when Redis does.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      lazyConnect: false,
    });
    // Failures reach the callers (and through them the logs); an unhandled 'error' event would crash the process.
    this.#redis.on('error', () => undefined);
    this.#firstConnection = new Promise((resolve) =>
      this.#redis.once('ready', () => {
        this.#connectedOnce = true;
        resolve();
      }),
    );
    this.#redis.defineCommand('capHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  }

  /** True while the connection to Redis is up (calls are then tried; otherwise they fail at once). */
  get available(): boolean {
    return this.#redis.status === 'ready';
  }

  /**
   * Without an offline queue, a command sent while the first connection is still being made would fail: wait for
   * it, at most one command timeout. Once connected, a lost connection fails commands at once.
   */
  async #connected(): Promise<void> {
    if (this.#connectedOnce || this.#redis.status === 'ready') return;
    if (this.#redis.status === 'end' || this.#redis.status === 'close') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#firstConnection,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#commandTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async get(key: string): Promise<string | null> {
    await this.#connected();
    return this.#redis.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#connected();
    await this.#redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async del(key: string): Promise<void> {
    await this.#connected();
    await this.#redis.del(key);
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    await this.#connected();
    const run = (
      this.#redis as unknown as { capHit(key: string, windowMs: number): Promise<[number, number]> }
    ).capHit;
    const [count, resetMs] = await run.call(this.#redis, key, Math.max(1, Math.round(windowMs)));
    return { count, resetMs };
  }

  async ping(): Promise<number> {
    await this.#connected();
    const started = performance.now();
    await this.#redis.ping();
    return performance.now() - started;
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/** In-process adapter for the embedded mode and single-instance deployments. */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory';
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #sweeper: NodeJS.Timeout;

  constructor() {
    // Expired entries are dropped lazily on read and swept periodically so the map cannot grow unbounded.
    this.#sweeper = setInterval(() => this.#sweep(), 30_000);
    this.#sweeper.unref();
  }

  #live(key: string): { value: string; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const now = Date.now();
    const entry = this.#live(key);
    if (!entry) {
      this.#entries.set(key, { value: '1', expiresAt: now + windowMs });
      return { count: 1, resetMs: windowMs };
    }
    const count = Number(entry.value) + 1;
    entry.value = String(count);
    return { count, resetMs: entry.expiresAt - now };
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }
}

/** Redis when `url` is set, in-memory otherwise. */
export function createKeyValueStore(
  url: string | undefined,
  options: RedisKeyValueStoreOptions = {},
): KeyValueStore {
  return url ? new RedisKeyValueStore(url, options) : new MemoryKeyValueStore();
}
