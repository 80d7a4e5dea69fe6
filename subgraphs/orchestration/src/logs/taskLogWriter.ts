import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import type { Redactor } from '../domain/redaction.js';
import { toTaskLogWire } from '../domain/liveMessages.js';
import {
  reserveTaskLogSeqs,
  storedRow,
  storeReservedTaskLogs,
  type QueuedLogEntry,
  type TaskLogLiveMessage,
} from './taskLogs.js';
import { CommitThenPublishWriter } from './commitThenPublishWriter.js';
import { BufferedLogWriter, HIGH_WATER, MAX_BATCH, type ExecutionLogWriter } from './bufferedLogWriter.js';

export type { ExecutionLogWriter } from './bufferedLogWriter.js';

/**
 * Entries published and not yet stored; beyond this, the writer reserves no more seqs until a write commits.
 * Twice the producers' high-water mark, so a burst that fills the queue goes live in one reservation instead of
 * waiting for stores (a command printing 10,000 lines at once: lines on the bus after 0.6 s at 2,000, one
 * reservation at this size). It is also how many published lines a crashed worker can lose (recovery stores a
 * placeholder for each, ADR 0028).
 */
const MAX_UNSTORED = 2 * HIGH_WATER;

type Reserved = QueuedLogEntry & { seq: number };

/**
 * The writer of one execution's log: {@link TaskLogWriter}, or the commit-then-publish path before ADR 0028
 * when `logPublishBeforeCommit` is false (the benchmark's baseline).
 */
export function openTaskLogWriter(
  deps: OrchestrationDeps,
  options: { taskId: string; executionId: string | null; redactor?: Redactor },
): ExecutionLogWriter {
  return deps.settings.logPublishBeforeCommit === false
    ? new CommitThenPublishWriter(deps, options)
    : new TaskLogWriter(deps, options);
}

/**
 * Writes one execution's log, publishing each line live as soon as its `seq` is known (ADR 0028). Two stages,
 * each with at most one round trip in flight, so lines that arrive meanwhile go together (group commit, no
 * timer and no waiting for a full batch):
 *
 * 1. **Reserve and publish.** Queued lines (as many as the unstored bound allows: a burst of 2,000 lines costs
 *    one round trip, not two) get a dense seq range from the task's counter row in one autocommitted statement,
 *    then go to live subscribers at once.
 * 2. **Store.** Reserved lines (up to 1,000) are inserted with their TaskLogAppended events in one transaction
 *    (idempotent on `(task_id, seq)`, so a retry after an unknown outcome is safe), then `{ stored }` tells
 *    readers waiting on a hole in the database to look again.
 *
 * Bounded: at most {@link MAX_UNSTORED} lines are live and not yet stored, and producers wait
 * (`waitForCapacity`) beyond `HIGH_WATER` lines queued. If the worker dies between the two stages, live
 * subscribers have seen lines that are never stored; the seqs stay handed out, and recovering the execution
 * stores a placeholder for each (`fillLostTaskLogs`), which is what a reader resuming before them sees.
 */
export class TaskLogWriter extends BufferedLogWriter {
  readonly #topic: string;
  /** Redacted, waiting for a seq. */
  #queued: QueuedLogEntry[] = [];
  /** Published, not yet stored, in seq order. */
  #unstored: Reserved[] = [];
  #reserving: Promise<void> | null = null;
  #storing: Promise<void> | null = null;
  #scheduled = false;
  #written = 0;
  #lostAfterPublish = 0;

  constructor(
    deps: OrchestrationDeps,
    options: { taskId: string; executionId: string | null; redactor?: Redactor },
  ) {
    super(deps, options);
    this.#topic = LiveTopic.taskLogs(options.taskId);
  }

  get pending(): number {
    return this.#queued.length + this.#unstored.length;
  }

  get written(): number {
    return this.#written;
  }

  get lostAfterPublish(): number {
    return this.#lostAfterPublish;
  }

  protected enqueue(entry: QueuedLogEntry): void {
    this.#queued.push(entry);
    // Lines printed in one chunk arrive in one turn of the event loop: they share a reservation.
    if (!this.#scheduled && !this.#reserving) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#startReserving();
      });
    }
  }

  async flush(): Promise<void> {
    while (this.pending > 0 || this.#reserving || this.#storing) {
      this.#startReserving();
      this.#startStoring();
      await Promise.all([this.#reserving, this.#storing]);
    }
  }

  #startReserving(): void {
    if (this.#reserving || this.#queued.length === 0 || this.#unstored.length >= MAX_UNSTORED) return;
    this.#reserving = this.#reserveLoop().finally(() => {
      this.#reserving = null;
      // Lines queued during the last round trip, if the loop ended on the unstored bound meanwhile lifted.
      this.#startReserving();
    });
  }

  #startStoring(): void {
    if (this.#storing || this.#unstored.length === 0) return;
    this.#storing = this.#storeLoop().finally(() => {
      this.#storing = null;
      this.#startStoring();
    });
  }

  async #reserveLoop(): Promise<void> {
    const failures = { count: 0 };
    while (this.#queued.length > 0 && this.#unstored.length < MAX_UNSTORED) {
      const batch = this.#queued.slice(0, MAX_UNSTORED - this.#unstored.length);
      const attempt = await this.attempt(
        failures,
        batch.length,
        {
          retrying: 'reserving task-log seqs failed; retrying',
          gaveUp: 'task logs could not be written; dropped',
        },
        () => reserveTaskLogSeqs(this.deps, this.taskId, batch.length),
      );
      if (!attempt.ok) {
        if (attempt.gaveUp) {
          // Nothing was handed out: these lines were never seen by anyone.
          this.#queued.splice(0, batch.length);
          this.releaseCapacity();
        }
        continue;
      }
      const first = attempt.value;
      this.#queued.splice(0, batch.length);
      const reserved = batch.map((entry, index) => ({ ...entry, seq: first + index }));
      for (const entry of reserved) this.#unstored.push(entry);
      this.#publish({ entries: reserved.map((entry) => toTaskLogWire(storedRow(this.taskId, entry))) });
      this.#startStoring();
    }
  }

  async #storeLoop(): Promise<void> {
    const failures = { count: 0 };
    while (this.#unstored.length > 0) {
      const batch = this.#unstored.slice(0, MAX_BATCH);
      const attempt = await this.attempt(
        failures,
        batch.length,
        {
          retrying: 'storing task logs failed; retrying',
          gaveUp: 'task logs could not be stored after they were published; dropped',
        },
        () => storeReservedTaskLogs(this.deps, this.taskId, this.executionId, batch),
      );
      if (!attempt.ok) {
        if (attempt.gaveUp) {
          // Live subscribers saw these; placeholders take their seqs (`fillLostTaskLogs`, after `close`).
          this.#unstored.splice(0, batch.length);
          this.#lostAfterPublish += batch.length;
          this.releaseCapacity();
        }
        continue;
      }
      this.#unstored.splice(0, batch.length);
      this.#written += batch.length;
      this.#publish({ stored: batch[batch.length - 1]!.seq });
      this.releaseCapacity();
      this.#startReserving();
    }
  }

  #publish(message: TaskLogLiveMessage): void {
    void this.deps.live
      .publish(this.#topic, message)
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, taskId: this.taskId }, 'live task-log publish failed'),
      );
  }
}
