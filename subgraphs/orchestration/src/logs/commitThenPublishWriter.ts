import { LiveTopic } from '../live/LiveTopic.js';
import { toTaskLogWire } from '../domain/liveMessages.js';
import { appendTaskLogs, type QueuedLogEntry } from './taskLogs.js';
import { BufferedLogWriter, MAX_BATCH } from './bufferedLogWriter.js';

/**
 * The path before ADR 0028, kept as the benchmark's baseline (`LOG_PUBLISH_BEFORE_COMMIT=false`). Writes one
 * execution's logs in batches: entries are redacted and queued by `log`, then written every
 * `flushIntervalMs` or as soon as `maxLines` are pending, whichever comes first; a flush writes everything
 * pending, up to 1,000 entries per transaction, so a backlog drains in few round trips. One batch is one transaction:
 * the task's counter row hands out a dense `seq` range (`UPDATE ... RETURNING`, which also serialises concurrent
 * writers of the same task), the entries are inserted with one multi-row INSERT, and ONE TaskLogAppended event
 * describes the whole batch. After the commit the batch goes to live subscribers on every instance.
 */
export class CommitThenPublishWriter extends BufferedLogWriter {
  readonly #pending: QueuedLogEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  /** Entries written so far. */
  written = 0;
  /** This writer publishes only what is stored. */
  readonly lostAfterPublish = 0;

  /** Entries queued and not yet written. */
  get pending(): number {
    return this.#pending.length;
  }

  protected enqueue(entry: QueuedLogEntry): void {
    this.#pending.push(entry);
    if (this.#pending.length >= this.deps.settings.logFlushMaxLines) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.deps.settings.logFlushIntervalMs);
  }

  /** Writes everything queued so far; resolves once it is stored (or failed and was retried until closed). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      this.#startFlush();
      await this.#flushing;
    }
  }

  #startFlush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = this.#writeBatches().finally(() => {
      this.#flushing = null;
    });
  }

  async #writeBatches(): Promise<void> {
    const failures = { count: 0 };
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, MAX_BATCH);
      const attempt = await this.attempt(
        failures,
        batch.length,
        { retrying: 'writing task logs failed; retrying', gaveUp: 'task logs could not be written; dropped' },
        () => this.#write(batch),
      );
      if (!attempt.ok) {
        if (attempt.gaveUp) this.#pending.splice(0, batch.length);
        continue;
      }
      this.#pending.splice(0, batch.length);
      this.written += batch.length;
      this.releaseCapacity();
      // Lines that arrived during the write wait for the interval again unless a full batch is ready.
      if (
        this.#pending.length > 0 &&
        this.#pending.length < this.deps.settings.logFlushMaxLines &&
        !this.closed
      ) {
        this.#timer ??= setTimeout(() => this.#startFlush(), this.deps.settings.logFlushIntervalMs);
        return;
      }
    }
  }

  async #write(batch: readonly QueuedLogEntry[]): Promise<void> {
    const entries = await appendTaskLogs(this.deps, this.taskId, this.executionId, batch);
    void this.deps.live
      .publish(LiveTopic.taskLogs(this.taskId), { entries: entries.map(toTaskLogWire) })
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, taskId: this.taskId }, 'live task-log publish failed'),
      );
  }
}
