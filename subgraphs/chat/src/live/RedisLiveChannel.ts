import type { Redis } from 'ioredis';
import type { Logger } from '@cap/runtime';
import type { LiveChannel, LiveListener, LiveSubscription } from './LiveChannel.js';

/**
 * Fan-out across instances through Redis pub/sub (docs/adr/0005). One subscriber connection per instance; each
 * topic is SUBSCRIBEd once however many local listeners follow it, and UNSUBSCRIBEd when the last one leaves.
 * After a reconnect (ioredis re-subscribes by itself) every listener is told to resync, since Redis does not
 * keep what was published while the connection was down.
 */
export class RedisLiveChannel implements LiveChannel {
  readonly kind = 'redis';
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #topics = new Map<string, Set<LiveListener>>();
  #readyOnce = false;
  #closed = false;

  /**
   * @param publisher the instance's command connection (shared with the cache); a subscriber connection is
   *   duplicated from it.
   * @param prefix prepended to every channel name; instances that share it see each other's messages.
   */
  constructor(options: { publisher: Redis; prefix: string; logger: Logger }) {
    this.#publisher = options.publisher;
    this.#prefix = options.prefix;
    this.#logger = options.logger;
    // Named, so operators (and tests) can tell the subscriber connections apart in CLIENT LIST.
    this.#subscriber = options.publisher.duplicate({ keyPrefix: '', connectionName: `${options.prefix}live-subscriber` });
    this.#subscriber.on('error', (error: unknown) => this.#logger.warn({ err: error }, 'redis live-channel subscriber error'));
    this.#subscriber.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload));
    this.#subscriber.on('ready', () => {
      if (!this.#readyOnce) {
        this.#readyOnce = true;
        return;
      }
      this.#logger.info({ topics: this.#topics.size }, 'redis live channel reconnected; subscribers resync');
      for (const listeners of this.#topics.values()) for (const listener of listeners) listener.onResync?.();
    });
  }

  #channel(topic: string): string {
    return `${this.#prefix}live:${topic}`;
  }

  #dispatch(channel: string, payload: string): void {
    if (!channel.startsWith(`${this.#prefix}live:`)) return;
    const listeners = this.#topics.get(channel.slice(this.#prefix.length + 'live:'.length));
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener.onMessage(payload);
      } catch (error) {
        this.#logger.error({ err: error, channel }, 'live listener failed');
      }
    }
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.#publisher.publish(this.#channel(topic), payload);
  }

  async subscribe(topic: string, listener: LiveListener): Promise<LiveSubscription> {
    if (this.#closed) throw new Error('live channel is closed');
    let listeners = this.#topics.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.#topics.set(topic, listeners);
    }
    listeners.add(listener);
    // Commands on one connection run in order, so this SUBSCRIBE follows any UNSUBSCRIBE of the same topic
    // issued before it; awaiting the reply means the server now routes the topic to us.
    await this.#subscriber.subscribe(this.#channel(topic));
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        const current = this.#topics.get(topic);
        if (!current) return;
        current.delete(listener);
        if (current.size > 0) return;
        this.#topics.delete(topic);
        if (!this.#closed) await this.#subscriber.unsubscribe(this.#channel(topic)).catch(() => undefined);
      },
    };
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.#publisher.ping();
    return performance.now() - started;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#topics.clear();
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
}
