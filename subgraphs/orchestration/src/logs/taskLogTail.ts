import { interruptible } from '@cap/live';
import type { TaskLog } from '../generated/prisma/client.js';
import { ReadGate } from './readGate.js';
import { SharedTail, type Reader, type TailDeps, type TaskLogBatch } from './sharedTaskLogTail.js';
import { read, readBatches } from './taskLogReaders.js';

export type { TaskLogBatch } from './sharedTaskLogTail.js';

/** Recent entries a shared tail keeps in memory per task: subscribers within this distance never query. */
const DEFAULT_WINDOW = 5_000;
/** Database reads for log tails in flight at once per process, so readers never starve the log writers. */
const DEFAULT_READ_CONCURRENCY = 3;
/** Entries per batch of `tailBatches` at most (`TASK_LOG_BATCH_MAX`). */
export const DEFAULT_MAX_BATCH = 500;

/**
 * Live task logs for every subscriber of this process, one shared tail per task (ADR 0010).
 *
 * Without sharing, each subscriber held its own live subscription and read the database whenever its batches
 * crossed or it fell behind: with 200 subscribers on one busy task that was 200 queries per hole, enough to run
 * the connection pool dry and starve the worker writing the log. Now, per task and process:
 *
 * - one live subscription feeds a window of the most recent entries, contiguous by `seq` (seqs are dense:
 *   ranges are handed out under the counter row's lock and never twice). A writer publishes lines as soon as
 *   their seqs are reserved, before they are stored (ADR 0028), then `{ stored }` once they are: an entry below
 *   a published one may still be in flight, so every read from the database stops at the first missing seq and
 *   looks again on the next message;
 * - a hole before a live batch (batches of several writers crossed, or the Redis connection came back) is read
 *   from the database once, by the tail, not by each subscriber;
 * - subscribers replay older entries from the database page by page, identical reads in flight are shared
 *   (200 subscribers starting at `afterSeq: 0` send one query), and at most a few reads run at once;
 * - once a subscriber reaches the window it is served from memory and waits for the next entries.
 */
export class TaskLogTails {
  readonly #deps: TailDeps;
  readonly #tails = new Map<string, SharedTail>();
  readonly #reads: ReadGate;
  readonly #window: number;
  readonly #maxBatch: number;

  constructor(
    deps: TailDeps,
    options: { window?: number; readConcurrency?: number; maxBatch?: number } = {},
  ) {
    this.#deps = deps;
    this.#window = options.window ?? DEFAULT_WINDOW;
    this.#maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.#reads = new ReadGate(options.readConcurrency ?? DEFAULT_READ_CONCURRENCY);
  }

  /** Shared tails open in this process, their subscribers, and the database reads they have sent. */
  stats(): { tails: number; subscribers: number; reads: number } {
    let subscribers = 0;
    for (const tail of this.#tails.values()) subscribers += tail.readers;
    return { tails: this.#tails.size, subscribers, reads: this.#reads.count };
  }

  /**
   * A task's log from `afterSeq` on: the stored entries, then live ones as they are written, each exactly once
   * and in `seq` order, with no gap. Resolves once the live subscription is active, so nothing written from
   * then on can be missed. `return()` ends it promptly even while it waits for the next entry.
   */
  async tail(taskId: string, afterSeq: number): Promise<AsyncGenerator<TaskLog>> {
    const { shared, reader } = await this.#attach(taskId);
    return interruptible(read(shared, reader, afterSeq), async () => {
      reader.abort();
    });
  }

  /**
   * The same log as {@link tail}, in batches of at most `maxBatch` entries: each batch is whatever is ready when
   * the subscriber pulls (one entry for a subscriber that keeps up, up to `maxBatch` for one that fell behind),
   * contiguous and following the previous one. Subscribers at the same position receive the same batch object.
   * `maxBatch` defaults to the tails' `maxBatch` option.
   */
  async tailBatches(
    taskId: string,
    afterSeq: number,
    maxBatch = this.#maxBatch,
  ): Promise<AsyncGenerator<TaskLogBatch>> {
    const { shared, reader } = await this.#attach(taskId);
    return interruptible(readBatches(shared, reader, afterSeq, Math.max(1, maxBatch)), async () => {
      reader.abort();
    });
  }

  async #attach(taskId: string): Promise<{ shared: SharedTail; reader: Reader }> {
    let shared = this.#tails.get(taskId);
    if (!shared) {
      shared = new SharedTail(taskId, this.#deps, this.#reads, this.#window, () =>
        this.#tails.delete(taskId),
      );
      this.#tails.set(taskId, shared);
    }
    return { shared, reader: await shared.attach() };
  }
}
