import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** What a {@link LiveFeed} yields: a message, or notice that messages may have been missed. */
export type LiveItem<T> = { message: T } | { gap: true };

/**
 * A live channel as a pull-based queue, for subscriptions: messages are buffered from the moment `open`
 * resolves until they are read. The buffer is bounded: when a slow reader lets more than `maxBuffered` messages
 * pile up, the oldest are dropped and a gap item is queued, as when the transport itself reports a gap (a Redis
 * reconnect). Readers re-read the database on a gap, so nothing is lost for them.
 */
export class LiveFeed<T> {
  readonly #buffer: Array<LiveItem<T>> = [];
  readonly #maxBuffered: number;
  #waiter: ((value: LiveItem<T> | undefined) => void) | null = null;
  #subscription: LiveSubscription | null = null;
  #gapQueued = false;
  #closed = false;

  private constructor(maxBuffered: number) {
    this.#maxBuffered = maxBuffered;
  }

  /** Subscribes to `channel`; resolves once the subscription is active. */
  static async open<T>(live: LiveBus, channel: string, options: { maxBuffered?: number } = {}): Promise<LiveFeed<T>> {
    const feed = new LiveFeed<T>(options.maxBuffered ?? 10_000);
    feed.#subscription = await live.subscribe(
      channel,
      (message) => feed.#push({ message: message as T }),
      () => feed.#pushGap(),
    );
    return feed;
  }

  #push(item: LiveItem<T>): void {
    if (this.#closed) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(item);
      return;
    }
    this.#buffer.push(item);
    if ('gap' in item) this.#gapQueued = true;
    let dropped = false;
    while (this.#buffer.length > this.#maxBuffered) {
      const oldest = this.#buffer.shift();
      if (oldest && 'gap' in oldest) this.#gapQueued = false;
      dropped = true;
    }
    // One queued gap is enough: it makes the reader re-read everything after what it last emitted.
    if (dropped && !this.#gapQueued) {
      this.#buffer.push({ gap: true });
      this.#gapQueued = true;
    }
  }

  #pushGap(): void {
    if (!this.#gapQueued) this.#push({ gap: true });
  }

  /** The next item, or undefined once the feed is closed. */
  next(): Promise<LiveItem<T> | undefined> {
    const item = this.#buffer.shift();
    if (item) {
      if ('gap' in item) this.#gapQueued = false;
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Unsubscribes; a pending `next()` resolves with undefined. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer.length = 0;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(undefined);
    await this.#subscription?.close();
  }
}

/**
 * Wraps an async generator so that `return()` (a client unsubscribing) first runs `interrupt`, which must make
 * the generator's pending await settle (e.g. close its feed). A bare async generator would only run its
 * `finally` after its next await settled, which for a quiet channel may be never.
 */
export function interruptible<T>(generator: AsyncGenerator<T>, interrupt: () => Promise<void>): AsyncGenerator<T> {
  const wrapped: AsyncGenerator<T> = {
    next: (...args) => generator.next(...args),
    return: async (value) => {
      await interrupt();
      return generator.return(value as T);
    },
    throw: async (error: unknown) => {
      await interrupt();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return wrapped;
    },
  };
  return wrapped;
}
