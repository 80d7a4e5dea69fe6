import type { Redis } from 'ioredis';
import { LogThrottle, type Logger } from '@cap/runtime';
import type { LiveChannel, LiveListener, LiveSubscription } from './LiveChannel.js';

/** Local state of one topic: its listeners, and whether Redis confirmed the SUBSCRIBE on this connection. */
interface TopicState {
  listeners: Set<LiveListener>;
  confirmed: boolean;
  /** Listeners may have missed messages (the topic was not subscribed for a while): resync on confirmation. */
  stale: boolean;
}

/**
 * Fan-out across instances through Redis pub/sub (docs/adr/0005). One subscriber connection per instance; each
 * topic is SUBSCRIBEd once however many local listeners follow it, and UNSUBSCRIBEd when the last one leaves.
 *
 * Redis is a signal bus, never the record (ADR 0012): nothing waits for it. While it is unreachable `subscribe`
 * resolves at once and the topic's listeners are told to resync (re-read the database) every `pollIntervalMs`
 * until the topic is subscribed again. Resubscribing is done here rather than by ioredis, so that the last
 * resync is sent only after Redis confirmed the SUBSCRIBE: from then on every message arrives live.
 */
export class RedisLiveChannel implements LiveChannel {
  readonly kind = 'redis';
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #firstConnectionWaitMs: number;
  readonly #topics = new Map<string, TopicState>();
  readonly #logThrottle = new LogThrottle(30_000);
  readonly #firstReady: Promise<void>;
  #poller: NodeJS.Timeout | null = null;
  #resubscribing = false;
  #closed = false;

  /**
   * @param publisher the instance's command connection (shared with the cache; it should fail fast: no offline
   *   queue, a command timeout); a subscriber connection is duplicated from it.
   * @param prefix prepended to every channel name; instances that share it see each other's messages.
   * @param pollIntervalMs while a topic is not subscribed, how often its listeners resync (default 1000 ms).
   */
  constructor(options: { publisher: Redis; prefix: string; logger: Logger; pollIntervalMs?: number }) {
    this.#publisher = options.publisher;
    this.#prefix = options.prefix;
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#firstConnectionWaitMs = options.publisher.options.commandTimeout ?? 500;
    // Named, so operators (and tests) can tell the subscriber connections apart in CLIENT LIST.
    this.#subscriber = options.publisher.duplicate({
      keyPrefix: '',
      connectionName: `${options.prefix}live-subscriber`,
      autoResubscribe: false,
    });
    this.#subscriber.on('error', (error: unknown) =>
      this.#warn('connection', { err: error }, 'redis live-channel subscriber error'),
    );
    this.#subscriber.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload));
    this.#firstReady = new Promise((resolve) => this.#subscriber.once('ready', () => resolve()));
    this.#subscriber.on('ready', () => void this.#resubscribe());
    // The connection (and every subscription with it) is gone: listeners poll the database until it is back.
    this.#subscriber.on('close', () => {
      for (const state of this.#topics.values()) {
        state.confirmed = false;
        state.stale = true;
      }
      this.#startPolling();
    });
  }

  #warn(key: string, fields: Record<string, unknown>, message: string): void {
    const pass = this.#logThrottle.take(key);
    if (pass) this.#logger.warn({ ...fields, suppressed: pass.suppressed }, message);
  }

  #channel(topic: string): string {
    return `${this.#prefix}live:${topic}`;
  }

  #topic(channel: string): string | null {
    const head = `${this.#prefix}live:`;
    return channel.startsWith(head) ? channel.slice(head.length) : null;
  }

  #dispatch(channel: string, payload: string): void {
    const topic = this.#topic(channel);
    const state = topic === null ? undefined : this.#topics.get(topic);
    if (!state) return;
    for (const listener of [...state.listeners]) {
      try {
        listener.onMessage(payload);
      } catch (error) {
        this.#logger.error({ err: error, channel }, 'live listener failed');
      }
    }
  }

  #resync(state: TopicState): void {
    for (const listener of [...state.listeners]) {
      try {
        listener.onResync?.();
      } catch (error) {
        this.#logger.error({ err: error }, 'live listener resync failed');
      }
    }
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.#publisher.publish(this.#channel(topic), payload);
  }

  async subscribe(topic: string, listener: LiveListener): Promise<LiveSubscription> {
    if (this.#closed) throw new Error('live channel is closed');
    let state = this.#topics.get(topic);
    if (!state) {
      state = { listeners: new Set(), confirmed: false, stale: false };
      this.#topics.set(topic, state);
    }
    state.listeners.add(listener);
    if (!state.confirmed) {
      // A starting instance waits briefly for its first connection, so that its first subscriptions are live.
      await this.#waitForFirstConnection();
      if (!state.confirmed && this.#subscriber.status === 'ready') await this.#confirm([topic]);
      if (!state.confirmed) {
        state.stale = true;
        this.#startPolling();
      }
    }
    const current = state;
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        current.listeners.delete(listener);
        if (current.listeners.size > 0 || this.#topics.get(topic) !== current) return;
        this.#topics.delete(topic);
        // Commands on one connection run in order, so a later SUBSCRIBE of the same topic cannot be undone.
        if (!this.#closed && current.confirmed && this.#subscriber.status === 'ready') {
          await this.#subscriber.unsubscribe(this.#channel(topic)).catch(() => undefined);
        }
      },
    };
  }

  async #waitForFirstConnection(): Promise<void> {
    if (this.#subscriber.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#firstReady,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#firstConnectionWaitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * SUBSCRIBEs `topics` in one command; once Redis confirmed it, listeners of a topic that was not subscribed for
   * a while resync once (what was published meanwhile is gone), and all get live messages from then on.
   */
  async #confirm(topics: string[]): Promise<void> {
    try {
      await this.#subscriber.subscribe(...topics.map((topic) => this.#channel(topic)));
    } catch (error) {
      this.#warn(
        'subscribe',
        { err: error, topics: topics.length },
        'redis live channel: SUBSCRIBE failed; listeners poll the database',
      );
      return;
    }
    for (const topic of topics) {
      const state = this.#topics.get(topic);
      if (!state) {
        // Every listener left while the SUBSCRIBE was in flight.
        await this.#subscriber.unsubscribe(this.#channel(topic)).catch(() => undefined);
        continue;
      }
      if (state.confirmed) continue;
      state.confirmed = true;
      if (state.stale) {
        state.stale = false;
        this.#resync(state);
      }
    }
  }

  /** After a (re)connect: subscribes every topic that has listeners. */
  async #resubscribe(): Promise<void> {
    if (this.#resubscribing || this.#closed) return;
    this.#resubscribing = true;
    try {
      const topics = [...this.#topics].filter(([, state]) => !state.confirmed).map(([topic]) => topic);
      if (topics.length > 0) {
        await this.#confirm(topics);
        this.#logger.info({ topics: topics.length }, 'redis live channel reachable; topics subscribed again');
      }
    } finally {
      this.#resubscribing = false;
    }
  }

  /** While any topic is not subscribed: its listeners resync every interval, and SUBSCRIBE is retried. */
  #startPolling(): void {
    if (this.#poller || this.#closed) return;
    this.#poller = setInterval(() => {
      const waiting = [...this.#topics.values()].filter((state) => !state.confirmed);
      if (waiting.length === 0 || this.#closed) {
        if (this.#poller) clearInterval(this.#poller);
        this.#poller = null;
        return;
      }
      for (const state of waiting) this.#resync(state);
      if (this.#subscriber.status === 'ready') void this.#resubscribe();
    }, this.#pollIntervalMs);
    this.#poller.unref();
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.#publisher.ping();
    return performance.now() - started;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#poller) clearInterval(this.#poller);
    this.#poller = null;
    this.#topics.clear();
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
}
