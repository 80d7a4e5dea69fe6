import { Redis } from 'ioredis';
import { LogThrottle, type Logger } from '@cap/runtime';
import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** Options of a {@link RedisLiveBus}. */
export interface RedisLiveBusOptions {
  /** Namespaces channels (environments sharing one Redis, tests). */
  prefix?: string;
  logger?: Logger;
  /** While a channel is not subscribed (Redis unreachable), how often its subscribers are told to re-read, ms. */
  pollIntervalMs?: number;
  /** Longest a Redis command (PUBLISH, SUBSCRIBE) may take, ms; also the wait for the very first connection. */
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

/**
 * {@link LiveBus} over Redis pub/sub: one connection publishes, one subscribes (a subscribed Redis connection
 * can do nothing else). Each channel is SUBSCRIBEd once per instance however many local subscribers it has, and
 * UNSUBSCRIBEd when the last one leaves. `prefix` namespaces channels (environments sharing one Redis, tests).
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

  constructor(url: string, options: RedisLiveBusOptions = {}) {
    this.#prefix = options.prefix ?? '';
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 500;
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#commandTimeoutMs,
      // Reconnect for ever, at most every 2 s.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
      lazyConnect: false,
    } as const;
    // Named connections, so an operator (or a test) can find them in CLIENT LIST.
    const name = `${this.#prefix}live`.replace(/\s/g, '_');
    this.#publisher = new Redis(url, { ...common, connectionName: `${name}-publisher` });
    this.#subscriber = new Redis(url, {
      ...common,
      autoResubscribe: false,
      connectionName: `${name}-subscriber`,
    });
    for (const client of [this.#publisher, this.#subscriber]) {
      client.on('error', (error: Error) =>
        this.#warn('connection', { err: error }, 'live bus: Redis connection error'),
      );
    }
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

  async publish(channel: string, message: unknown): Promise<void> {
    await this.#publisher.publish(this.#prefix + channel, JSON.stringify(message));
  }

  async subscribe(
    channel: string,
    onMessage: (message: unknown) => void,
    onGap?: () => void,
  ): Promise<LiveSubscription> {
    if (this.#closed) throw new Error('live bus is closed');
    const name = this.#prefix + channel;
    let state = this.#channels.get(name);
    if (!state)
      this.#channels.set(
        name,
        (state = { handlers: new Set(), gaps: new Set(), confirmed: false, stale: false }),
      );
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
        if (current.confirmed && this.#subscriber.status === 'ready')
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
      await Promise.all(
        [this.#publisher, this.#subscriber].map((client) =>
          client.quit().then(
            () => undefined,
            () => client.disconnect(),
          ),
        ),
      );
    })());
  }
}
