import { Redis } from 'ioredis';
import { DEFAULT_COMMAND_TIMEOUT_MS, LogThrottle, type Logger } from '@cap/runtime';
import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** Options of a {@link RedisLiveBus}. */
export interface RedisLiveBusOptions {
  /** Prepended to every topic to make its Redis channel (environments sharing one Redis, services, tests). */
  prefix?: string;
  /**
   * Base of the connection names shown in `CLIENT LIST` (`<name>-publisher`, `<name>-subscriber`), so an
   * operator (or a test) can find them; default `<prefix>live`.
   */
  connectionName?: string;
  logger?: Logger;
  /** While a topic is not subscribed (Redis unreachable), how often its subscribers are told to re-read, ms (default 1000). */
  pollIntervalMs?: number;
  /**
   * Longest a Redis command (PUBLISH, SUBSCRIBE) may take, ms; also the wait for the very first connection.
   * Default: the shared connection's `commandTimeout`, else {@link DEFAULT_COMMAND_TIMEOUT_MS} (500).
   */
  commandTimeoutMs?: number;
}

/** Local state of one channel: its subscribers, and whether Redis confirmed the SUBSCRIBE on this connection. */
interface ChannelState {
  handlers: Set<(message: unknown) => void>;
  gaps: Set<() => void>;
  confirmed: boolean;
  /** Subscribers may have missed messages (the channel was not subscribed for a while): re-read on confirmation. */
  stale: boolean;
}

/** Reconnect for ever, at most every 2 s, so the bus recovers on its own. */
const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2_000);

/**
 * {@link LiveBus} over Redis pub/sub: one connection publishes, one subscribes (a subscribed Redis connection can
 * do nothing else). Each channel is SUBSCRIBEd once per instance however many local subscribers it has, and
 * UNSUBSCRIBEd when the last one leaves, so Redis traffic scales with instances, not subscribers.
 *
 * Given a URL, the bus opens and owns both connections. Given a connection (one the service already uses for
 * commands, which must fail fast like this bus's own), it publishes on it, duplicates it for subscribing, and
 * leaves it open on `close`.
 *
 * Redis is a signal bus, never the record (ADR 0012): nothing waits for it. Commands fail fast while it is
 * unreachable (no offline queue, no retries across reconnects, a command timeout); `subscribe` resolves at once
 * then, and the channel's subscribers are told to re-read the database every `pollIntervalMs` (their gap
 * handler) until the channel is subscribed again. Resubscribing is done here, not by ioredis, so that the last
 * "re-read" is sent only after Redis confirmed the SUBSCRIBE: from then on every message arrives live.
 */
export class RedisLiveBus implements LiveBus {
  readonly kind = 'redis';
  readonly #publisher: Redis;
  readonly #ownsPublisher: boolean;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  readonly #pollIntervalMs: number;
  readonly #commandTimeoutMs: number;
  readonly #channels = new Map<string, ChannelState>();
  readonly #logThrottle = new LogThrottle(30_000);
  readonly #firstReady: Promise<void>;
  #poller: NodeJS.Timeout | null = null;
  #resubscribing = false;
  #closed: Promise<void> | undefined;

  /**
   * @param redis a Redis URL (the bus owns its connections), or a command connection to publish on and
   *   duplicate for subscribing (the caller keeps owning it).
   */
  constructor(redis: string | Redis, options: RedisLiveBusOptions = {}) {
    this.#prefix = options.prefix ?? '';
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    const name = (options.connectionName ?? `${this.#prefix}live`).replace(/\s/g, '_');
    if (typeof redis === 'string') {
      this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      const common = {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: this.#commandTimeoutMs,
        retryStrategy,
        lazyConnect: false,
      } as const;
      this.#publisher = new Redis(redis, { ...common, connectionName: `${name}-publisher` });
      this.#ownsPublisher = true;
      this.#subscriber = new Redis(redis, {
        ...common,
        autoResubscribe: false,
        connectionName: `${name}-subscriber`,
      });
      this.#publisher.on('error', (error: Error) =>
        this.#warn('connection', { err: error }, 'live bus: Redis connection error'),
      );
    } else {
      this.#commandTimeoutMs =
        options.commandTimeoutMs ?? redis.options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
      this.#publisher = redis;
      this.#ownsPublisher = false;
      // Channels are named in full here: the shared connection's key prefix must not apply to them.
      this.#subscriber = redis.duplicate({
        keyPrefix: '',
        autoResubscribe: false,
        commandTimeout: this.#commandTimeoutMs,
        connectionName: `${name}-subscriber`,
      });
    }
    this.#subscriber.on('error', (error: Error) =>
      this.#warn('connection', { err: error }, 'live bus: Redis connection error'),
    );
    this.#subscriber.on('message', (channel: string, text: string) => this.#dispatch(channel, text));
    this.#firstReady = new Promise((resolve) => this.#subscriber.once('ready', () => resolve()));
    this.#subscriber.on('ready', () => void this.#resubscribe());
    // The connection (and with it every subscription) is gone: subscribers poll until it is back.
    this.#subscriber.on('close', () => {
      for (const state of this.#channels.values()) {
        state.confirmed = false;
        state.stale = true;
      }
      this.#startPolling();
    });
  }

  #warn(key: string, fields: Record<string, unknown>, message: string): void {
    const pass = this.#logThrottle.take(key);
    if (pass) this.#logger?.warn({ ...fields, suppressed: pass.suppressed }, message);
  }

  #dispatch(channel: string, text: string): void {
    const state = this.#channels.get(channel);
    if (!state || state.handlers.size === 0) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.#logger?.warn({ err: error, channel }, 'live bus: message is not JSON; dropped');
      return;
    }
    for (const handler of [...state.handlers]) {
      try {
        handler(message);
      } catch (error) {
        this.#logger?.warn({ err: error, channel }, 'live bus: subscriber failed');
      }
    }
  }

  #gap(state: ChannelState): void {
    for (const listener of [...state.gaps]) {
      try {
        listener();
      } catch (error) {
        this.#logger?.warn({ err: error }, 'live bus: gap listener failed');
      }
    }
  }

  async publish(topic: string, message: unknown): Promise<void> {
    await this.#publisher.publish(this.#prefix + topic, JSON.stringify(message));
  }

  async subscribe(
    topic: string,
    onMessage: (message: unknown) => void,
    onGap?: () => void,
  ): Promise<LiveSubscription> {
    if (this.#closed) throw new Error('live bus is closed');
    const name = this.#prefix + topic;
    let state = this.#channels.get(name);
    if (!state)
      this.#channels.set(
        name,
        (state = { handlers: new Set(), gaps: new Set(), confirmed: false, stale: false }),
      );
    // Wrappers per subscription, so subscribing the same function twice gives two subscriptions.
    const handler = (message: unknown): void => onMessage(message);
    state.handlers.add(handler);
    const gap = onGap ? (): void => onGap() : null;
    if (gap) state.gaps.add(gap);
    if (!state.confirmed) {
      // A starting service waits for its first connection (briefly), so that its first subscriptions are live.
      await this.#waitForFirstConnection();
      if (!state.confirmed && this.#subscriber.status === 'ready') await this.#confirm([name]);
      if (!state.confirmed) {
        state.stale = true;
        this.#startPolling();
      }
    }
    let closed = false;
    const current = state;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        current.handlers.delete(handler);
        if (gap) current.gaps.delete(gap);
        if (current.handlers.size > 0 || this.#channels.get(name) !== current) return;
        this.#channels.delete(name);
        // Commands on one connection run in order, so a later SUBSCRIBE of the same channel cannot be undone.
        if (!this.#closed && current.confirmed && this.#subscriber.status === 'ready')
          await this.#subscriber.unsubscribe(name).catch(() => undefined);
      },
    };
  }

  async #waitForFirstConnection(): Promise<void> {
    if (this.#subscriber.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#firstReady,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#commandTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * SUBSCRIBEs `names` in one command; once Redis confirmed it, subscribers of a channel that was not subscribed
   * for a while re-read once (what was published meanwhile is gone), and all get live messages from then on.
   */
  async #confirm(names: string[]): Promise<void> {
    try {
      await this.#subscriber.subscribe(...names);
    } catch (error) {
      this.#warn(
        'subscribe',
        { err: error, channels: names.length },
        'live bus: SUBSCRIBE failed; subscribers poll the database',
      );
      return;
    }
    for (const name of names) {
      const state = this.#channels.get(name);
      if (!state) {
        // Every subscriber left while the SUBSCRIBE was in flight.
        await this.#subscriber.unsubscribe(name).catch(() => undefined);
        continue;
      }
      if (state.confirmed) continue;
      state.confirmed = true;
      if (state.stale) {
        state.stale = false;
        this.#gap(state);
      }
    }
  }

  /** After a (re)connect: subscribes every channel that has subscribers. */
  async #resubscribe(): Promise<void> {
    if (this.#resubscribing || this.#closed) return;
    this.#resubscribing = true;
    try {
      const names = [...this.#channels].filter(([, state]) => !state.confirmed).map(([name]) => name);
      if (names.length > 0) {
        await this.#confirm(names);
        this.#logger?.info(
          { channels: names.length },
          'live bus: Redis reachable; channels subscribed again',
        );
      }
    } finally {
      this.#resubscribing = false;
    }
  }

  /** While any channel is not subscribed: its subscribers re-read every interval, and SUBSCRIBE is retried. */
  #startPolling(): void {
    if (this.#poller || this.#closed) return;
    this.#poller = setInterval(() => {
      const waiting = [...this.#channels.values()].filter((state) => !state.confirmed);
      if (waiting.length === 0 || this.#closed) {
        if (this.#poller) clearInterval(this.#poller);
        this.#poller = null;
        return;
      }
      for (const state of waiting) this.#gap(state);
      if (this.#subscriber.status === 'ready') void this.#resubscribe();
    }, this.#pollIntervalMs);
    this.#poller.unref();
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.#publisher.ping();
    return performance.now() - started;
  }

  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      if (this.#poller) clearInterval(this.#poller);
      this.#poller = null;
      this.#channels.clear();
      const owned = this.#ownsPublisher ? [this.#publisher, this.#subscriber] : [this.#subscriber];
      await Promise.all(
        owned.map((client) =>
          client.quit().then(
            () => undefined,
            () => client.disconnect(),
          ),
        ),
      );
    })());
  }
}
