import { queueUnclassifiedTasks } from '../domain/classification.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { recoverExpiredLeases } from './leaseRecovery.js';

/**
 * The periodic housekeeping every instance runs (safe concurrently, `SKIP LOCKED`): re-queues executions whose
 * worker was lost (expired leases), and applies the default strategy to tasks whose classification is overdue.
 */
export class Sweeper {
  readonly #deps: OrchestrationDeps;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(deps: OrchestrationDeps, options: { intervalMs: number }) {
    this.#deps = deps;
    this.#intervalMs = options.intervalMs;
  }

  start(): void {
    this.#schedule();
  }

  /** One sweep now (also what the timer runs). */
  async sweepOnce(): Promise<void> {
    try {
      await recoverExpiredLeases(this.#deps);
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'lease sweep failed');
    }
    try {
      await queueUnclassifiedTasks(this.#deps);
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'classification-timeout sweep failed');
    }
  }

  /** Stops sweeping; waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.sweepOnce().finally(() => {
        this.#running = null;
        this.#schedule();
      });
    }, this.#intervalMs);
  }
}
