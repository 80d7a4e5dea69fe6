import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LiveSubscription } from '@cap/live';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { LiveTopic } from '../live/LiveTopic.js';
import { abortRun, executeRun, type ExecutionRunOptions, type Run } from './executionRun.js';
import { claimExecutions, renewLeases, type ClaimedExecution } from './queue.js';

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions extends ExecutionRunOptions {
  /** Stable for the pool's life, unique across instances; stored on the executions it claims. */
  workerId?: string;
  /** Executions run at once. */
  concurrency: number;
  /** Idle wait between claims when nothing wakes the pool, ms. */
  pollIntervalMs: number;
  /** Lease of a claimed execution, ms. */
  leaseMs: number;
  /** Lease renewal (and cancellation check) interval, ms. */
  heartbeatIntervalMs: number;
}

/**
 * Runs queued executions with bounded concurrency: claims up to `concurrency` executions (waking on new work
 * published on the live bus, or polling), runs each through the first matching executor in a fresh workspace,
 * renews their leases every `heartbeatIntervalMs` (which also reports cancellations), and records the outcome.
 *
 * A run stops early when its task is cancelled (live notification or heartbeat: within one heartbeat at most),
 * when it exceeds its time limit, when its lease was lost (this worker stops writing; the sweeper re-queues it
 * elsewhere), or at shutdown (the execution is handed back to the queue).
 */
export class WorkerPool {
  readonly workerId: string;
  readonly #deps: OrchestrationDeps;
  readonly #options: WorkerPoolOptions;
  readonly #runs = new Map<string, Run>();
  #stopping = false;
  #wake: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #beating = false;
  #queueSubscription: LiveSubscription | null = null;

  constructor(deps: OrchestrationDeps, options: WorkerPoolOptions) {
    this.#deps = deps;
    this.#options = options;
    this.workerId = options.workerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  }

  /** Executions running right now. */
  get running(): number {
    return this.#runs.size;
  }

  /** Starts claiming work. */
  async start(): Promise<void> {
    this.#queueSubscription = await this.#deps.live.subscribe(LiveTopic.queue, () => this.wake());
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatIntervalMs);
    this.#loop = this.#claimLoop();
    this.#deps.logger.info(
      { workerId: this.workerId, concurrency: this.#options.concurrency },
      'worker pool started',
    );
  }

  /** Makes an idle pool look for work now. */
  wake(): void {
    this.#woken = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Stops claiming, lets running executions finish for up to `graceMs`, then stops the rest and hands them back
   * to the queue for another worker.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.wake();
    await this.#loop;
    await this.#queueSubscription?.close();
    const runs = [...this.#runs.values()];
    if (runs.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(runs.map((run) => run.done)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      for (const run of this.#runs.values()) abortRun(run, 'shutdown');
      await Promise.all([...this.#runs.values()].map((run) => run.done));
    }
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#deps.logger.info({ workerId: this.workerId }, 'worker pool stopped');
  }

  async #claimLoop(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      const free = this.#options.concurrency - this.#runs.size;
      let claimed: ClaimedExecution[] = [];
      if (free > 0) {
        try {
          claimed = await claimExecutions(this.#deps, {
            workerId: this.workerId,
            limit: free,
            leaseMs: this.#options.leaseMs,
          });
        } catch (error) {
          this.#deps.logger.warn({ err: error }, 'claiming executions failed');
        }
      }
      for (const item of claimed) this.#startRun(item);
      // A full claim suggests more work is waiting: look again at once if a slot is free.
      if (claimed.length > 0 && claimed.length === free) continue;
      if (this.#woken || this.#stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, this.#options.pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #startRun(claimed: ClaimedExecution): void {
    const run: Run = {
      claimed,
      controller: new AbortController(),
      reason: null,
      renewedAt: Date.now(),
      done: Promise.resolve(),
    };
    this.#runs.set(claimed.execution.id, run);
    run.done = executeRun({ deps: this.#deps, workerId: this.workerId, options: this.#options }, run)
      .catch((error: unknown) =>
        this.#deps.logger.error({ err: error, executionId: claimed.execution.id }, 'execution run failed'),
      )
      .finally(() => {
        this.#runs.delete(claimed.execution.id);
        this.wake();
      });
  }

  /** Renews every running execution's lease; stops runs whose task was cancelled or whose lease was lost. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#runs.size === 0) return;
    this.#beating = true;
    try {
      const states = await renewLeases(this.#deps, {
        workerId: this.workerId,
        executionIds: [...this.#runs.keys()],
        leaseMs: this.#options.leaseMs,
      });
      const now = Date.now();
      for (const [id, state] of states) {
        const run = this.#runs.get(id);
        if (!run) continue;
        if (!state.held) abortRun(run, 'lease-lost');
        else {
          run.renewedAt = now;
          if (state.cancelled) abortRun(run, 'cancelled');
        }
      }
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'lease renewal failed');
      // Self-fencing: a worker that cannot renew must stop before its lease runs out and another worker starts
      // the same task, so that it never runs twice at once.
      const deadline = this.#options.leaseMs - this.#options.heartbeatIntervalMs;
      for (const run of this.#runs.values())
        if (Date.now() - run.renewedAt >= deadline) abortRun(run, 'lease-lost');
    } finally {
      this.#beating = false;
    }
  }
}
