import type { LiveBus, LiveSubscription } from './LiveBus.js';

/** In-process {@link LiveBus}: for one instance (embedded mode, a single deployment). */
export class MemoryLiveBus implements LiveBus {
  readonly kind = 'memory';
  readonly #handlers = new Map<string, Set<(message: unknown) => void>>();

  async publish(channel: string, message: unknown): Promise<void> {
    const handlers = this.#handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    // The same JSON round trip Redis imposes, so both adapters deliver the same values (dates as strings).
    const text = JSON.stringify(message);
    for (const handler of [...handlers]) deliver(handler, JSON.parse(text) as unknown);
  }

  // In-process delivery never drops a message, so there is never a gap to report.
  async subscribe(channel: string, onMessage: (message: unknown) => void): Promise<LiveSubscription> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) this.#handlers.set(channel, (handlers = new Set()));
    // A wrapper per subscription, so subscribing the same function twice gives two subscriptions.
    const handler = (message: unknown): void => onMessage(message);
    handlers.add(handler);
    return {
      close: async () => {
        handlers.delete(handler);
        if (handlers.size === 0 && this.#handlers.get(channel) === handlers) this.#handlers.delete(channel);
      },
    };
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.#handlers.clear();
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
