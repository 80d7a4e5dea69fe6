import type { LiveChannel, LiveListener, LiveSubscription } from './LiveChannel.js';

/** In-process fan-out, for the embedded single-process mode (no REDIS_URL): reaches this instance only. */
export class MemoryLiveChannel implements LiveChannel {
  readonly kind = 'memory';
  readonly #topics = new Map<string, Set<LiveListener>>();

  async publish(topic: string, payload: string): Promise<void> {
    const listeners = this.#topics.get(topic);
    if (!listeners) return;
    // Delivered on a later tick, like a network channel: publishers never run subscriber code inline.
    for (const listener of [...listeners]) queueMicrotask(() => listener.onMessage(payload));
  }

  async subscribe(topic: string, listener: LiveListener): Promise<LiveSubscription> {
    let listeners = this.#topics.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.#topics.set(topic, listeners);
    }
    listeners.add(listener);
    return {
      unsubscribe: async () => {
        const current = this.#topics.get(topic);
        if (!current) return;
        current.delete(listener);
        if (current.size === 0) this.#topics.delete(topic);
      },
    };
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.#topics.clear();
  }
}
