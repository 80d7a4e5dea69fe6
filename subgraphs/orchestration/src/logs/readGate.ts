/** Runs at most `limit` reads at once; the rest wait in order. */
export class ReadGate {
  readonly #limit: number;
  #running = 0;
  #count = 0;
  readonly #queue: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Reads run so far. */
  get count(): number {
    return this.#count;
  }

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#running += 1;
    try {
      this.#count += 1;
      return await read();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
