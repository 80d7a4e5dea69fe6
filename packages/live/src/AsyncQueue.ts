/**
 * A bounded push-to-pull queue exposed as an async iterator, for subscription streams. Unlike an async
 * generator, `return()` takes effect at once even while a consumer awaits `next()`: graphql-ws calls it when a
 * client completes or disconnects, and the cleanup (unsubscribing from the live channel, timers) must run then,
 * not when the next event happens to arrive.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  readonly #onClose: () => Promise<void> | void;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #closed = false;
  #dropped = 0;

  /**
   * @param capacity items kept for a slow consumer; beyond it the oldest are dropped (see `dropped`).
   * @param onClose runs once, when the consumer returns or the producer ends the queue.
   */
  constructor(options: { capacity: number; onClose: () => Promise<void> | void }) {
    this.#capacity = options.capacity;
    this.#onClose = options.onClose;
  }

  /** Items dropped because the consumer fell `capacity` behind. */
  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(item: T): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: item, done: false });
      return;
    }
    if (this.#items.length >= this.#capacity) {
      this.#items.shift();
      this.#dropped += 1;
    }
    this.#items.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<T>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /** Ends the stream: pending and future `next()` calls complete; queued items are discarded. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#items.length = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
    await this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
