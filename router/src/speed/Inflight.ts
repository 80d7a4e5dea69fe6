/**
 * Inflight deduplication: callers asking for the same key while a first call for it is still running share that
 * call's promise instead of starting their own. Nothing is kept once the call settles (this is not a cache), so
 * a caller never sees a result older than its own request. Keys are built by the caller and must hold everything
 * the result depends on, identity included (docs/adr/0022-router-throughput.md).
 */
export class Inflight<T> {
  readonly #running = new Map<string, Promise<T>>();
  #shared = 0;

  /** How many calls joined one already running (for tests and benchmarks). */
  get shared(): number {
    return this.#shared;
  }

  /** How many distinct calls are running now. */
  get size(): number {
    return this.#running.size;
  }

  /** Runs `call` for `key`, or joins the call for `key` already running. */
  run(key: string, call: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running) {
      this.#shared += 1;
      return running;
    }
    const started = call().finally(() => this.#running.delete(key));
    this.#running.set(key, started);
    return started;
  }
}
