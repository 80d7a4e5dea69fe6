import { Worker } from 'node:worker_threads';
import type { Logger } from '@cap/runtime';
import type { JobProgress, TrainJob, TrainJobResult } from '../training/trainJob.js';

/**
 * Runs retrains in worker threads, one at a time per instance, off the thread that serves requests; tracks
 * them so that closing the service stops a retrain in progress (it is then recorded FAILED).
 */
export class Trainer {
  readonly #running = new Set<Promise<unknown>>();
  readonly #workers = new Set<Worker>();
  #closed = false;

  constructor(private readonly logger: Logger) {}

  /** True once `close()` was called: no new retrain starts. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `work` in the background, tracked until it settles (errors are logged by `work` itself). */
  track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.logger.error({ err: error }, 'retrain failed'));
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  /** Runs one train job in a new worker thread, reporting its progress. */
  run(job: TrainJob, onProgress: (progress: JobProgress) => void): Promise<TrainJobResult> {
    if (this.#closed) return Promise.reject(new Error('the classifier is shutting down'));
    const fromSource = import.meta.url.endsWith('.ts');
    const worker = new Worker(
      new URL(
        fromSource ? '../training/trainWorker.source.mjs' : '../training/trainWorker.js',
        import.meta.url,
      ),
      { workerData: job, ...(fromSource ? { execArgv: ['--conditions=source'] } : {}) },
    );
    this.#workers.add(worker);
    return new Promise<TrainJobResult>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.#workers.delete(worker);
        fn();
      };
      worker.on('message', (message: { kind: string } & Record<string, unknown>) => {
        if (message.kind === 'progress') onProgress(message as unknown as JobProgress);
        else if (message.kind === 'done') settle(() => resolve(message['result'] as TrainJobResult));
        else if (message.kind === 'error') settle(() => reject(new Error(String(message['message']))));
      });
      worker.on('error', (error) => settle(() => reject(error)));
      worker.on('exit', (code) =>
        settle(() => reject(new Error(`the training worker stopped (exit code ${code}) before it finished`))),
      );
    }).finally(() => void worker.terminate());
  }

  /** Stops the workers of retrains in progress and waits for their bookkeeping. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#workers].map((worker) => worker.terminate()));
    await Promise.allSettled([...this.#running]);
  }
}
