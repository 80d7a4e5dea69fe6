import type { Prisma } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { Redactor } from '../domain/redaction.js';
import { toTaskLogWire } from '../domain/liveMessages.js';
import { appendTaskLogs, type LogEntryInput, type QueuedLogEntry, type TaskLogSink } from './taskLogs.js';

/** Redacts an entry, cuts an overlong message, and stamps it with the time it was logged. */
export function redactEntry(
  deps: Pick<OrchestrationDeps, 'settings'>,
  redactor: Redactor,
  executionId: string | null,
  entry: LogEntryInput,
): QueuedLogEntry {
  const max = deps.settings.logLineMaxChars;
  let message = redactor.redact(entry.message, entry.stream);
  if (message.length > max) message = `${message.slice(0, max)}… [${message.length - max} characters cut]`;
  const data =
    entry.data === undefined ? undefined : (redactor.redactValue(entry.data) as Prisma.InputJsonValue);
  return {
    executionId,
    level: entry.level,
    kind: entry.kind,
    message,
    ...(data === undefined || data === null ? {} : { data }),
    createdAt: new Date(),
  };
}

/** A task-log writer of one execution, as the worker drives it. */
export interface ExecutionLogWriter extends TaskLogSink {
  /** Entries queued and not yet stored. */
  readonly pending: number;
  /** Entries stored so far. */
  readonly written: number;
  /** Entries published live and then given up (the database stayed down while closing): holes in the log. */
  readonly lostAfterPublish: number;
  /** Resolves once everything queued so far is stored (or given up after the database stayed down). */
  flush(): Promise<void>;
  /** Stores what is pending and refuses further entries. */
  close(): Promise<void>;
}

/** Beyond this many pending entries, `waitForCapacity` makes producers wait. */
export const HIGH_WATER = 5_000;
/** Retry delay of a failed batch write, ms. */
export const RETRY_DELAY_MS = 500;
/** Most entries written in one transaction: a backlog (a chatty command) drains in a few large batches. */
export const MAX_BATCH = 1_000;
/** Once closed, a batch that keeps failing is given up after this many tries (the database is down). */
export const RETRIES_WHEN_CLOSED = 10;

/**
 * The path before ADR 0028, kept as the benchmark's baseline (`LOG_PUBLISH_BEFORE_COMMIT=false`). Writes one
 * execution's logs in batches: entries are redacted and queued by `log`, then written every
 * `flushIntervalMs` or as soon as `maxLines` are pending, whichever comes first; a flush writes everything
 * pending, up to 1,000 entries per transaction, so a backlog drains in few round trips. One batch is one transaction:
 * the task's counter row hands out a dense `seq` range (`UPDATE ... RETURNING`, which also serialises concurrent
 * writers of the same task), the entries are inserted with one multi-row INSERT, and ONE TaskLogAppended event
 * describes the whole batch. After the commit the batch goes to live subscribers on every instance.
 */
export class CommitThenPublishWriter implements ExecutionLogWriter {
  readonly #deps: OrchestrationDeps;
  readonly #taskId: string;
  readonly #executionId: string | null;
  readonly #redactor: Redactor;
  readonly #pending: QueuedLogEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #capacityWaiters: Array<() => void> = [];
  #closed = false;
  /** Entries written so far. */
  written = 0;
  /** This writer publishes only what is stored. */
  readonly lostAfterPublish = 0;

  constructor(
    deps: OrchestrationDeps,
    options: { taskId: string; executionId: string | null; redactor?: Redactor },
  ) {
    this.#deps = deps;
    this.#taskId = options.taskId;
    this.#executionId = options.executionId;
    this.#redactor = options.redactor ?? new Redactor();
  }

  /** Entries queued and not yet written. */
  get pending(): number {
    return this.#pending.length;
  }

  registerSecret(value: string): void {
    this.#redactor.register(value);
  }

  log(entry: LogEntryInput): void {
    if (this.#closed) {
      // An executor writing after its execution ended: dropped, never thrown (it may be in an event handler).
      this.#deps.logger.warn(
        { taskId: this.#taskId, message: entry.message.slice(0, 200) },
        'log entry after the execution ended; dropped',
      );
      return;
    }
    this.#pending.push(redactEntry(this.#deps, this.#redactor, this.#executionId, entry));
    if (this.#pending.length >= this.#deps.settings.logFlushMaxLines) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.#deps.settings.logFlushIntervalMs);
  }

  waitForCapacity(): Promise<void> {
    if (this.#pending.length < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push(resolve));
  }

  /** Writes everything queued so far; resolves once it is stored (or failed and was retried until closed). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      this.#startFlush();
      await this.#flushing;
    }
  }

  /** Writes what is pending and refuses further entries. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
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
    let failures = 0;
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, MAX_BATCH);
      try {
        await this.#write(batch);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (this.#closed && failures >= RETRIES_WHEN_CLOSED) {
          this.#deps.logger.error(
            { err: error, taskId: this.#taskId, entries: batch.length },
            'task logs could not be written; dropped',
          );
          this.#pending.splice(0, batch.length);
          continue;
        }
        this.#deps.logger.warn(
          { err: error, taskId: this.#taskId, entries: batch.length },
          'writing task logs failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        continue;
      }
      this.#pending.splice(0, batch.length);
      this.written += batch.length;
      if (this.#pending.length < HIGH_WATER) {
        const waiters = this.#capacityWaiters;
        this.#capacityWaiters = [];
        for (const resolve of waiters) resolve();
      }
      // Lines that arrived during the write wait for the interval again unless a full batch is ready.
      if (
        this.#pending.length > 0 &&
        this.#pending.length < this.#deps.settings.logFlushMaxLines &&
        !this.#closed
      ) {
        this.#timer ??= setTimeout(() => this.#startFlush(), this.#deps.settings.logFlushIntervalMs);
        return;
      }
    }
  }

  async #write(batch: readonly QueuedLogEntry[]): Promise<void> {
    const entries = await appendTaskLogs(this.#deps, this.#taskId, this.#executionId, batch);
    void this.#deps.live
      .publish(LiveTopic.taskLogs(this.#taskId), { entries: entries.map(toTaskLogWire) })
      .catch((error: unknown) =>
        this.#deps.logger.warn({ err: error, taskId: this.#taskId }, 'live task-log publish failed'),
      );
  }
}
