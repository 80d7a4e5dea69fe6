import { TaskLogAppended } from '@cap/events';
import type { LogKind, LogLevel, Prisma, TaskLog } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { Redactor } from '../domain/redaction.js';
import { EVENT_SOURCE } from '../domain/tasks.js';
import { toTaskLogWire } from '../domain/liveMessages.js';

/** A JSON value, as log entries' structured data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One log entry as an executor or the worker writes it. */
export interface LogEntryInput {
  level: LogLevel;
  kind: LogKind;
  message: string;
  /** Structured data (tool arguments, token counts, the stream a line came from). */
  data?: JsonValue | undefined;
  /** Where the text came from (`stdout`, `stderr`): keeps multi-line secret redaction per source. */
  stream?: string | undefined;
}

/** What executors write logs through. */
export interface TaskLogSink {
  /** Queues an entry; it is redacted now and stored with the next batch. */
  log(entry: LogEntryInput): void;
  /** Redacts `value` from every later entry of this execution (tokens handed to tools, passwords). */
  registerSecret(value: string): void;
  /** Resolves once fewer than the high-water mark of entries wait to be written (backpressure for chatty sources). */
  waitForCapacity(): Promise<void>;
}

/** Beyond this many pending entries, {@link TaskLogWriter.waitForCapacity} makes producers wait. */
const HIGH_WATER = 5_000;
/** Retry delay of a failed batch write, ms. */
const RETRY_DELAY_MS = 500;
/** Most entries written in one transaction: a backlog (a chatty command) drains in a few large batches. */
const MAX_BATCH = 1_000;
/** Once closed, a batch that keeps failing is given up after this many tries (the database is down). */
const RETRIES_WHEN_CLOSED = 10;

/**
 * Writes one execution's logs in batches: entries are redacted and queued by `log`, then written every
 * `flushIntervalMs` or as soon as `maxLines` are pending, whichever comes first; a flush writes everything
 * pending, up to 1,000 entries per transaction, so a backlog drains in few round trips. One batch is one transaction:
 * the task's counter row hands out a dense `seq` range (`UPDATE ... RETURNING`, which also serialises concurrent
 * writers of the same task), the entries are inserted with one multi-row INSERT, and ONE TaskLogAppended event
 * describes the whole batch. After the commit the batch goes to live subscribers on every instance.
 */
export class TaskLogWriter implements TaskLogSink {
  readonly #deps: OrchestrationDeps;
  readonly #taskId: string;
  readonly #executionId: string | null;
  readonly #redactor: Redactor;
  readonly #pending: Array<Omit<Prisma.TaskLogCreateManyInput, 'seq' | 'taskId'> & { createdAt: Date }> = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #capacityWaiters: Array<() => void> = [];
  #closed = false;
  /** Entries written so far. */
  written = 0;

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
    const max = this.#deps.settings.logLineMaxChars;
    let message = this.#redactor.redact(entry.message, entry.stream);
    if (message.length > max) message = `${message.slice(0, max)}… [${message.length - max} characters cut]`;
    const data =
      entry.data === undefined
        ? undefined
        : (this.#redactor.redactValue(entry.data) as Prisma.InputJsonValue);
    this.#pending.push({
      executionId: this.#executionId,
      level: entry.level,
      kind: entry.kind,
      message,
      ...(data === undefined || data === null ? {} : { data }),
      createdAt: new Date(),
    });
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

  async #write(
    batch: ReadonlyArray<Omit<Prisma.TaskLogCreateManyInput, 'seq' | 'taskId'> & { createdAt: Date }>,
  ): Promise<void> {
    const entries = await appendTaskLogs(this.#deps, this.#taskId, this.#executionId, batch);
    void this.#deps.live
      .publish(LiveTopic.taskLogs(this.#taskId), { entries: entries.map(toTaskLogWire) })
      .catch((error: unknown) =>
        this.#deps.logger.warn({ err: error, taskId: this.#taskId }, 'live task-log publish failed'),
      );
  }
}

/**
 * Appends entries (already redacted) to a task's log in one transaction: a dense `seq` range from the task's
 * counter row, one multi-row INSERT, one TaskLogAppended event.
 * @returns the stored entries, in `seq` order
 */
export async function appendTaskLogs(
  deps: OrchestrationDeps,
  taskId: string,
  executionId: string | null,
  batch: ReadonlyArray<Omit<Prisma.TaskLogCreateManyInput, 'seq' | 'taskId'> & { createdAt: Date }>,
): Promise<TaskLog[]> {
  return inTransaction(deps, async ({ tx }) => {
    const [counter] = await tx.$queryRawUnsafe<Array<{ last_seq: number }>>(
      'UPDATE "orchestration"."task_log_counters" SET "last_seq" = "last_seq" + $2 WHERE "task_id" = $1::uuid RETURNING "last_seq"',
      taskId,
      batch.length,
    );
    if (!counter) throw new Error(`task ${taskId} has no log counter`);
    const first = counter.last_seq - batch.length + 1;
    const rows = batch.map((entry, index) => ({ ...entry, taskId, seq: first + index }));
    // One INSERT over column arrays: a 1,000-line batch costs one statement and no per-row work in the client
    // (createMany compiled and interpreted every row, ~1 ms each on a busy core: the live logs waited for it).
    await tx.$executeRawUnsafe(INSERT_TASK_LOGS, taskId, ...taskLogColumns(rows));
    let warnings = 0;
    let errors = 0;
    for (const row of rows) {
      if (row.level === 'WARN') warnings += 1;
      else if (row.level === 'ERROR') errors += 1;
    }
    await deps.events.record(tx, [
      TaskLogAppended.create(
        {
          taskId,
          executionId,
          fromSeq: first,
          toSeq: counter.last_seq,
          count: rows.length,
          warnings,
          errors,
        },
        { source: EVENT_SOURCE, aggregateId: taskId },
      ),
    ]);
    return rows.map((row) => ({
      taskId,
      seq: row.seq,
      executionId: row.executionId ?? null,
      level: row.level,
      kind: row.kind,
      message: row.message,
      data: (row.data ?? null) as TaskLog['data'],
      createdAt: row.createdAt,
    }));
  });
}

const INSERT_TASK_LOGS = `INSERT INTO "orchestration"."task_logs"
  ("task_id", "seq", "execution_id", "level", "kind", "message", "data", "created_at")
  SELECT $1::uuid, r.seq, r.execution_id::uuid, r.level::"orchestration"."LogLevel", r.kind::"orchestration"."LogKind",
    r.message, r.data::jsonb, r.created_at::timestamptz
  FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
    AS r(seq, execution_id, level, kind, message, data, created_at)`;

/** The columns of {@link INSERT_TASK_LOGS}, one array each (nulls where a row has no value). */
function taskLogColumns(
  rows: ReadonlyArray<Omit<Prisma.TaskLogCreateManyInput, 'taskId'> & { createdAt: Date }>,
): [number[], Array<string | null>, string[], string[], string[], Array<string | null>, string[]] {
  return [
    rows.map((row) => row.seq),
    rows.map((row) => row.executionId ?? null),
    rows.map((row) => row.level),
    rows.map((row) => row.kind),
    rows.map((row) => row.message),
    rows.map((row) => (row.data === undefined || row.data === null ? null : JSON.stringify(row.data))),
    rows.map((row) => row.createdAt.toISOString()),
  ];
}

/** Log entries of a task after `afterSeq`, oldest first, at most `limit`. */
export function readTaskLogs(
  deps: Pick<OrchestrationDeps, 'prisma'>,
  taskId: string,
  afterSeq: number,
  limit: number,
  beforeSeq?: number,
): Promise<TaskLog[]> {
  return deps.prisma.taskLog.findMany({
    where: { taskId, seq: { gt: afterSeq, ...(beforeSeq === undefined ? {} : { lt: beforeSeq }) } },
    orderBy: { seq: 'asc' },
    take: limit,
  });
}

/** Writes one line from orchestration itself (not an executor) into a task's log and streams it live. */
export async function logSystemNote(
  deps: OrchestrationDeps,
  taskId: string,
  executionId: string | null,
  level: 'INFO' | 'WARN' | 'ERROR',
  message: string,
): Promise<void> {
  try {
    const entries = await appendTaskLogs(deps, taskId, executionId, [
      { executionId, level, kind: 'STEP', message, createdAt: new Date() },
    ]);
    await deps.live.publish(LiveTopic.taskLogs(taskId), { entries: entries.map(toTaskLogWire) });
  } catch (error) {
    deps.logger.warn({ err: error, taskId }, 'could not write a note to the task log');
  }
}
