import type { Prisma } from '../generated/prisma/client.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { Redactor } from '../domain/redaction.js';
import type { LogEntryInput, QueuedLogEntry, TaskLogSink } from './taskLogs.js';

/**
 * Redacts an entry (NUL and lone surrogates made U+FFFD), cuts an overlong message to `logLineMaxChars` UTF-16 units
 * or one fewer (never splitting a surrogate pair) with a `… [n characters cut]` mark, and stamps it with the time
 * it was logged.
 */
export function redactEntry(
  deps: Pick<OrchestrationDeps, 'settings'>,
  redactor: Redactor,
  executionId: string | null,
  entry: LogEntryInput,
): QueuedLogEntry {
  const max = deps.settings.logLineMaxChars;
  let message = redactor.redact(entry.message, entry.stream);
  if (message.length > max) {
    // Never between the halves of a surrogate pair: the half left would be a lone surrogate, which PostgreSQL's
    // JSON input refuses, and the whole batch with it (retried while the writer is open, dropped once closed).
    const last = message.charCodeAt(max - 1);
    const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
    message = `${message.slice(0, end)}… [${message.length - end} characters cut]`;
  }
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

/** How one attempt of a batch write ended: written, failed and waited out (try again), or given up. */
export type Attempt<TValue> = { ok: true; value: TValue } | { ok: false; gaveUp: boolean };

/** What {@link BufferedLogWriter.attempt} logs about a failed batch. */
export interface AttemptMessages {
  /** Logged (warn) on a failure that is retried after {@link RETRY_DELAY_MS}. */
  retrying: string;
  /** Logged (error) when a closed writer gives the batch up. */
  gaveUp: string;
}

/**
 * What both writers of one execution's log share (the commit-then-publish baseline and the ADR 0028 writer):
 * redacting and queueing in `log`, refusing entries once closed, producers' backpressure beyond
 * {@link HIGH_WATER} pending entries, and the retry rule of a failed batch ({@link attempt}). A writer supplies
 * where queued entries go (`enqueue`), how many are pending, and how it flushes.
 */
export abstract class BufferedLogWriter implements ExecutionLogWriter {
  protected readonly deps: OrchestrationDeps;
  protected readonly taskId: string;
  protected readonly executionId: string | null;
  protected readonly redactor: Redactor;
  protected closed = false;
  #capacityWaiters: Array<() => void> = [];

  constructor(
    deps: OrchestrationDeps,
    options: { taskId: string; executionId: string | null; redactor?: Redactor },
  ) {
    this.deps = deps;
    this.taskId = options.taskId;
    this.executionId = options.executionId;
    this.redactor = options.redactor ?? new Redactor();
  }

  abstract get pending(): number;
  abstract get written(): number;
  abstract get lostAfterPublish(): number;
  abstract flush(): Promise<void>;
  /** Takes one redacted entry of an open writer. */
  protected abstract enqueue(entry: QueuedLogEntry): void;

  registerSecret(value: string): void {
    this.redactor.register(value);
  }

  log(entry: LogEntryInput): void {
    if (this.closed) {
      // An executor writing after its execution ended: dropped, never thrown (it may be in an event handler).
      this.deps.logger.warn(
        { taskId: this.taskId, message: entry.message.slice(0, 200) },
        'log entry after the execution ended; dropped',
      );
      return;
    }
    this.enqueue(redactEntry(this.deps, this.redactor, this.executionId, entry));
  }

  waitForCapacity(): Promise<void> {
    if (this.pending < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push(resolve));
  }

  /** Writes what is pending and refuses further entries. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Wakes the producers waiting in `waitForCapacity` once fewer than {@link HIGH_WATER} entries are pending. */
  protected releaseCapacity(): void {
    if (this.pending >= HIGH_WATER) return;
    const waiters = this.#capacityWaiters;
    this.#capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * One attempt of a batch write of `entries` entries. A failure is logged and waited out for
   * {@link RETRY_DELAY_MS} (the caller tries again); once the writer is closed, the
   * {@link RETRIES_WHEN_CLOSED}th failure in a row gives the batch up instead (the database is down, and closing
   * must end). `failures` counts the failures in a row of one write loop; a success resets it.
   */
  protected async attempt<TValue>(
    failures: { count: number },
    entries: number,
    messages: AttemptMessages,
    write: () => Promise<TValue>,
  ): Promise<Attempt<TValue>> {
    try {
      const value = await write();
      failures.count = 0;
      return { ok: true, value };
    } catch (error) {
      failures.count += 1;
      if (this.closed && failures.count >= RETRIES_WHEN_CLOSED) {
        this.deps.logger.error({ err: error, taskId: this.taskId, entries }, messages.gaveUp);
        return { ok: false, gaveUp: true };
      }
      this.deps.logger.warn({ err: error, taskId: this.taskId, entries }, messages.retrying);
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      return { ok: false, gaveUp: false };
    }
  }
}
