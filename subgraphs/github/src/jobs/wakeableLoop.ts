import type { Logger } from '@cap/runtime';

/**
 * Runs `drain` when woken (`notify`) and on a timer, never twice at once: a wake-up during a run makes one more
 * run after it. The background workers of the subgraph (webhook deliveries, pull-request jobs) are built on it.
 */
export class WakeableLoop {
  readonly #drain: () => Promise<void>;
  readonly #intervalMs: number;
  readonly #logger: Pick<Logger, 'error'>;
  readonly #name: string;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(options: {
    name: string;
    intervalMs: number;
    logger: Pick<Logger, 'error'>;
    drain: () => Promise<void>;
  }) {
    this.#name = options.name;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
    this.#drain = options.drain;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#timer = setInterval(() => this.notify(), this.#intervalMs);
    this.#timer.unref();
    this.notify();
  }

  /** Runs now (coalesced with a run in progress). */
  notify(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((error: unknown) => this.#logger.error({ err: error }, `${this.#name} failed`))
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.notify();
        }
      });
  }

  /** Resolves once nothing is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.idle();
  }
}

/**
 * A background worker of the subgraph driven by a {@link WakeableLoop}: started, woken (`notify`), awaited
 * (`idle`) and stopped alike; a subclass supplies what one run does (`drain`).
 */
export abstract class LoopWorker {
  protected readonly loop: WakeableLoop;

  constructor(options: { name: string; intervalMs: number; logger: Pick<Logger, 'error'> }) {
    this.loop = new WakeableLoop({ ...options, drain: () => this.drain() });
  }

  /** One run: works until nothing is due (or the loop stopped). */
  protected abstract drain(): Promise<void>;

  start(): void {
    this.loop.start();
  }

  /** Runs now (coalesced with a run in progress). */
  notify(): void {
    this.loop.notify();
  }

  /** Resolves once nothing is in progress (tests, shutdown). */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
