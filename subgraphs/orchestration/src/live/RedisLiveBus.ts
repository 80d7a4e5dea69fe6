import { Redis } from 'ioredis';
import type { Logger } from '@cap/runtime';
import type { LiveBus, LiveSubscription } from './LiveBus.js';

/**
 * {@link LiveBus} over Redis pub/sub: one connection publishes, one subscribes (a subscribed Redis connection
 * can do nothing else). Each channel is SUBSCRIBEd once per instance however many local subscribers it has, and
 * UNSUBSCRIBEd when the last one leaves. `prefix` namespaces channels (environments sharing one Redis, tests).
 */
export class RedisLiveBus implements LiveBus {
  readonly kind = 'redis';
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  readonly #channels = new Map<string, Set<(message: unknown) => void>>();
  readonly #gapListeners = new Set<() => void>();
  #connectedOnce = false;
  #closed: Promise<void> | undefined;

  constructor(url: string, options: { prefix?: string; logger?: Logger } = {}) {
    this.#prefix = options.prefix ?? '';
    this.#logger = options.logger;
    const common = { maxRetriesPerRequest: 2, lazyConnect: false } as const;
    // Named connections, so an operator (or a test) can find them in CLIENT LIST.
    const name = `${this.#prefix}live`.replace(/\s/g, '_');
    this.#publisher = new Redis(url, { ...common, connectionName: `${name}-publisher` });
    // The subscriber retries forever: ioredis resubscribes every channel after a reconnect.
    this.#subscriber = new Redis(url, { ...common, maxRetriesPerRequest: null, connectionName: `${name}-subscriber` });
    for (const client of [this.#publisher, this.#subscriber]) {
      client.on('error', (error: Error) => this.#logger?.warn({ err: error }, 'live bus: Redis connection error'));
    }
    this.#subscriber.on('message', (channel: string, text: string) => this.#dispatch(channel, text));
    // After a reconnect ioredis resubscribes, but whatever was published meanwhile is gone: tell subscribers.
    this.#subscriber.on('ready', () => {
      if (!this.#connectedOnce) {
        this.#connectedOnce = true;
        return;
      }
      this.#logger?.warn({ subscribers: this.#gapListeners.size }, 'live bus: Redis reconnected; subscribers re-read');
      for (const listener of [...this.#gapListeners]) {
        try {
          listener();
        } catch (error) {
          this.#logger?.warn({ err: error }, 'live bus: gap listener failed');
        }
      }
    });
  }

  #dispatch(channel: string, text: string): void {
    const handlers = this.#channels.get(channel);
    if (!handlers || handlers.size === 0) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.#logger?.warn({ err: error, channel }, 'live bus: message is not JSON; dropped');
      return;
    }
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch (error) {
        this.#logger?.warn({ err: error, channel }, 'live bus: subscriber failed');
      }
    }
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.#publisher.publish(this.#prefix + channel, JSON.stringify(message));
  }

  async subscribe(channel: string, onMessage: (message: unknown) => void, onGap?: () => void): Promise<LiveSubscription> {
    const name = this.#prefix + channel;
    let handlers = this.#channels.get(name);
    if (!handlers) this.#channels.set(name, (handlers = new Set()));
    const handler = (message: unknown): void => onMessage(message);
    handlers.add(handler);
    const gap = onGap ? (): void => onGap() : null;
    if (gap) this.#gapListeners.add(gap);
    // Commands on one connection run in order, so an UNSUBSCRIBE queued before this SUBSCRIBE cannot undo it.
    // Every subscriber issues SUBSCRIBE (a no-op for a subscribed channel) and so resolves only once Redis
    // confirmed the channel is subscribed.
    await this.#subscriber.subscribe(name).catch((error: unknown) => {
      handlers.delete(handler);
      if (gap) this.#gapListeners.delete(gap);
      throw error;
    });
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        handlers.delete(handler);
        if (gap) this.#gapListeners.delete(gap);
        if (handlers.size === 0 && this.#channels.get(name) === handlers) {
          this.#channels.delete(name);
          if (this.#subscriber.status === 'ready') await this.#subscriber.unsubscribe(name).catch(() => undefined);
        }
      },
    };
  }

  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      this.#channels.clear();
      this.#gapListeners.clear();
      await Promise.all(
        [this.#publisher, this.#subscriber].map((client) => client.quit().then(() => undefined, () => client.disconnect())),
      );
    })());
  }
}
