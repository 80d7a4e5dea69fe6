/**
 * Caps open subscription connections (WebSockets and SSE streams together), in all and per client address, so
 * one client cannot hold every socket the router can afford.
 */
export class ConnectionLimiter {
  #total = 0;
  readonly #byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Takes a slot for `address`; returns its release function, or null when a cap is reached. */
  acquire(address: string): (() => void) | null {
    const held = this.#byAddress.get(address) ?? 0;
    if (this.#total >= this.maxTotal || held >= this.maxPerAddress) return null;
    this.#total += 1;
    this.#byAddress.set(address, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#byAddress.set(address, left);
      else this.#byAddress.delete(address);
    };
  }

  /** Connections open now. */
  get size(): number {
    return this.#total;
  }
}
