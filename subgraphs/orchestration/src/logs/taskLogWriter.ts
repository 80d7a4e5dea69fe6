import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { Redactor } from '../domain/redaction.js';
import { toTaskLogWire } from '../domain/liveMessages.js';
import {
  reserveTaskLogSeqs,
  storedRow,
  storeReservedTaskLogs,
  type LogEntryInput,
  type QueuedLogEntry,
  type TaskLogLiveMessage,
} from './taskLogs.js';
import {
  CommitThenPublishWriter,
  HIGH_WATER,
  MAX_BATCH,
  redactEntry,
  RETRIES_WHEN_CLOSED,
  RETRY_DELAY_MS,
  type ExecutionLogWriter,
} from './commitThenPublishWriter.js';

export type { ExecutionLogWriter } from './commitThenPublishWriter.js';

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
 * (`waitForCapacity`) beyond {@link HIGH_WATER} lines queued. If the worker dies between the two stages, live
 * subscribers have seen lines that are never stored; the seqs stay handed out, and recovering the execution
 * stores a placeholder for each (`fillLostTaskLogs`), which is what a reader resuming before them sees.
 */
export class TaskLogWriter implements ExecutionLogWriter {
  readonly #deps: OrchestrationDeps;
  readonly #taskId: string;
  readonly #executionId: string | null;
  readonly #redactor: Redactor;
  readonly #topic: string;
  /** Redacted, waiting for a seq. */
  #queued: QueuedLogEntry[] = [];
  /** Published, not yet stored, in seq order. */
  #unstored: Reserved[] = [];
  #reserving: Promise<void> | null = null;
  #storing: Promise<void> | null = null;
  #scheduled = false;
  #capacityWaiters: Array<() => void> = [];
  #closed = false;
  #written = 0;
  #lostAfterPublish = 0;

  constructor(
    deps: OrchestrationDeps,
    options: { taskId: string; executionId: string | null; redactor?: Redactor },
  ) {
    this.#deps = deps;
    this.#taskId = options.taskId;
    this.#executionId = options.executionId;
    this.#redactor = options.redactor ?? new Redactor();
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

  registerSecret(value: string): void {
    this.#redactor.register(value);
  }

  log(entry: LogEntryInput): void {
    if (this.#closed) {
      this.#deps.logger.warn(
        { taskId: this.#taskId, message: entry.message.slice(0, 200) },
        'log entry after the execution ended; dropped',
      );
      return;
    }
    this.#queued.push(redactEntry(this.#deps, this.#redactor, this.#executionId, entry));
    // Lines printed in one chunk arrive in one turn of the event loop: they share a reservation.
    if (!this.#scheduled && !this.#reserving) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#startReserving();
      });
    }
  }

  waitForCapacity(): Promise<void> {
    if (this.pending < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push(resolve));
  }

  async flush(): Promise<void> {
    while (this.pending > 0 || this.#reserving || this.#storing) {
      this.#startReserving();
      this.#startStoring();
      await Promise.all([this.#reserving, this.#storing]);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
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
    let failures = 0;
    while (this.#queued.length > 0 && this.#unstored.length < MAX_UNSTORED) {
      const batch = this.#queued.slice(0, MAX_UNSTORED - this.#unstored.length);
      let first: number;
      try {
        first = await reserveTaskLogSeqs(this.#deps, this.#taskId, batch.length);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (this.#closed && failures >= RETRIES_WHEN_CLOSED) {
          // Nothing was handed out: these lines were never seen by anyone.
          this.#deps.logger.error(
            { err: error, taskId: this.#taskId, entries: batch.length },
            'task logs could not be written; dropped',
          );
          this.#queued.splice(0, batch.length);
          this.#releaseCapacity();
          continue;
        }
        this.#deps.logger.warn(
          { err: error, taskId: this.#taskId, entries: batch.length },
          'reserving task-log seqs failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        continue;
      }
      this.#queued.splice(0, batch.length);
      const reserved = batch.map((entry, index) => ({ ...entry, seq: first + index }));
      for (const entry of reserved) this.#unstored.push(entry);
      this.#publish({ entries: reserved.map((entry) => toTaskLogWire(storedRow(this.#taskId, entry))) });
      this.#startStoring();
    }
  }

  async #storeLoop(): Promise<void> {
    let failures = 0;
    while (this.#unstored.length > 0) {
      const batch = this.#unstored.slice(0, MAX_BATCH);
      try {
        await storeReservedTaskLogs(this.#deps, this.#taskId, this.#executionId, batch);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (this.#closed && failures >= RETRIES_WHEN_CLOSED) {
          // Live subscribers saw these; placeholders take their seqs (`fillLostTaskLogs`, after `close`).
          this.#deps.logger.error(
            { err: error, taskId: this.#taskId, entries: batch.length },
            'task logs could not be stored after they were published; dropped',
          );
          this.#unstored.splice(0, batch.length);
          this.#lostAfterPublish += batch.length;
          this.#releaseCapacity();
          continue;
        }
        this.#deps.logger.warn(
          { err: error, taskId: this.#taskId, entries: batch.length },
          'storing task logs failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        continue;
      }
      this.#unstored.splice(0, batch.length);
      this.#written += batch.length;
      this.#publish({ stored: batch[batch.length - 1]!.seq });
      this.#releaseCapacity();
      this.#startReserving();
    }
  }

  #releaseCapacity(): void {
    if (this.pending >= HIGH_WATER) return;
    const waiters = this.#capacityWaiters;
    this.#capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #publish(message: TaskLogLiveMessage): void {
    void this.#deps.live
      .publish(this.#topic, message)
      .catch((error: unknown) =>
        this.#deps.logger.warn({ err: error, taskId: this.#taskId }, 'live task-log publish failed'),
      );
  }
}
