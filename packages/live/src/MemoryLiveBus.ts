import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** In-process {@link LiveBus}: for one instance (the embedded mode, a single deployment). */
export class MemoryLiveBus implements LiveBus {
  readonly kind = 'memory';
  readonly #topics = new Map<string, Set<(message: unknown) => void>>();

  async publish(topic: string, message: unknown): Promise<void> {
    const handlers = this.#topics.get(topic);
    if (!handlers || handlers.size === 0) return;
    // The same JSON round trip Redis imposes (dates become strings, one parsed value shared by the subscribers),
    // so both adapters deliver the same values.
    const text = JSON.stringify(message);
    const recipients = [...handlers];
    // Delivered on a later tick, like a network bus: a publisher never runs subscriber code inline. A subscriber
    // that left meanwhile gets nothing.
    queueMicrotask(() => {
      const value = JSON.parse(text) as unknown;
      for (const handler of recipients) if (handlers.has(handler)) deliver(handler, value);
    });
  }

  // In-process delivery never drops a message, so there is never a gap to report.
  async subscribe(topic: string, onMessage: (message: unknown) => void): Promise<LiveSubscription> {
    let handlers = this.#topics.get(topic);
    if (!handlers) this.#topics.set(topic, (handlers = new Set()));
    // A wrapper per subscription, so subscribing the same function twice gives two subscriptions.
    const handler = (message: unknown): void => onMessage(message);
    handlers.add(handler);
    const current = handlers;
    return {
      close: async () => {
        current.delete(handler);
        if (current.size === 0 && this.#topics.get(topic) === current) this.#topics.delete(topic);
      },
    };
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    for (const handlers of this.#topics.values()) handlers.clear();
    this.#topics.clear();
  }
}

/** A subscriber's failure must not stop delivery to the others. */
function deliver(handler: (message: unknown) => void, message: unknown): void {
  try {
    handler(message);
  } catch {
    // Subscribers handle their own errors; nothing sensible to do here.
  }
}
