import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** What a {@link LiveFeed} yields: a message, or notice that messages may have been missed. */
export type LiveItem<T> = { message: T } | { gap: true };

/**
 * A live topic as one subscriber's pull-based queue, in arrival order: messages are buffered from the moment
 * `open` resolves until they are read. The buffer is bounded (back-pressure without unbounded memory): when a
 * slow reader lets more than `maxBuffered` messages pile up, the oldest are dropped and a gap item is queued, as
 * when the transport itself reports a gap (a Redis reconnect, a poll tick while Redis is down). At most one gap
 * is queued at a time. Readers re-read the database on a gap, so nothing is lost for them.
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

  /**
   * Subscribes to `topic`; resolves once the subscription is active (or, while Redis is unreachable, at once:
   * the feed then yields a gap every poll interval until it is). `maxBuffered` defaults to 10,000.
   */
  static async open<T>(
    live: LiveBus,
    topic: string,
    options: { maxBuffered?: number } = {},
  ): Promise<LiveFeed<T>> {
    const feed = new LiveFeed<T>(options.maxBuffered ?? 10_000);
    feed.#subscription = await live.subscribe(
      topic,
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
