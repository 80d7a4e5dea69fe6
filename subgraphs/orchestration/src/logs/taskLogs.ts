import { TaskLogAppended } from '@cap/events';
import type { LogLevel, Prisma, TaskLog } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import { inRunTransaction } from '../domain/runTransaction.js';
import type { OrchestrationDeps, Tx } from '../domain/orchestrationDeps.js';
import { EVENT_SOURCE } from '../domain/tasks.js';
import { toTaskLogWire, type TaskLogWire } from '../domain/liveMessages.js';

// The log entry and sink types are the executor contract's (declared once there; its LogLevel/LogKind are the
// same unions as the Prisma enums).
export type { JsonValue, LogEntryInput, TaskLogSink } from '@cap/execution-contract';

/** An entry redacted and queued, before its `seq` is assigned. */
export type QueuedLogEntry = Omit<Prisma.TaskLogCreateManyInput, 'seq' | 'taskId'> & { createdAt: Date };

/**
 * What the task-log topic carries: stored or about-to-be-stored entries (`entries`), or a note that everything
 * up to `stored` a writer published ahead of its commit is now stored (ADR 0028), so readers waiting on a hole
 * in the database look again.
 */
export type TaskLogLiveMessage = { entries: TaskLogWire[] } | { stored: number };

/** The message of a line lost with its worker (published live, never stored): what a resumed reader sees. */
export const LOST_LINE_MESSAGE = '[log line lost: its worker stopped before the line was stored]';

/**
 * Appends entries (already redacted) to a task's log in one transaction: a dense `seq` range from the task's
 * counter row, one multi-row INSERT, one TaskLogAppended event.
 * @returns the stored entries, in `seq` order
 */
export async function appendTaskLogs(
  deps: OrchestrationDeps,
  taskId: string,
  executionId: string | null,
  batch: ReadonlyArray<QueuedLogEntry>,
): Promise<TaskLog[]> {
  return inRunTransaction(deps, async ({ tx }) => {
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
    await tx.$executeRawUnsafe(INSERT_TASK_LOGS, taskId, taskLogRowsJson(rows));
    await deps.events.record(tx, appendedEvents(taskId, executionId, rows));
    return rows.map((row) => storedRow(taskId, row));
  });
}

/**
 * Hands out `count` seqs of a task's log, committed at once (one statement, no transaction around it): they are
 * never handed out again, whether or not the entries are ever stored (ADR 0028).
 * @returns the first seq of the dense range
 */
export async function reserveTaskLogSeqs(
  deps: Pick<OrchestrationDeps, 'prisma'>,
  taskId: string,
  count: number,
): Promise<number> {
  const [counter] = await deps.prisma.$queryRawUnsafe<Array<{ last_seq: number }>>(
    RESERVE_SQL,
    taskId,
    count,
  );
  if (!counter) throw new Error(`task ${taskId} has no log counter`);
  return counter.last_seq - count + 1;
}

/**
 * Stores entries whose seqs were reserved (and which may already be live) in one transaction with their
 * TaskLogAppended events (one per contiguous range). Idempotent: a seq already stored (an earlier try that
 * committed, or a lost-line placeholder) is left as it is.
 */
export async function storeReservedTaskLogs(
  deps: OrchestrationDeps,
  taskId: string,
  executionId: string | null,
  rows: ReadonlyArray<QueuedLogEntry & { seq: number }>,
): Promise<void> {
  await inRunTransaction(deps, async ({ tx }) => {
    await tx.$executeRawUnsafe(`${INSERT_TASK_LOGS} ON CONFLICT DO NOTHING`, taskId, taskLogRowsJson(rows));
    await deps.events.record(tx, appendedEvents(taskId, executionId, rows));
  });
}

/**
 * Stores a placeholder ({@link LOST_LINE_MESSAGE}) for every seq of a task handed out and never stored, so the
 * log stays dense and resumed readers pass the hole. Call it once the execution's writer is closed or lost, in
 * the transaction that ends the execution: every seq up to the counter this statement sees was handed out by a
 * committed reservation, and is stored, in flight in a transaction that also stores it (`appendTaskLogs`), or
 * lost. No lock is taken (a lock on the counter row would order against `appendTaskLogs`' and deadlock).
 * @returns the seqs filled
 */
export async function fillLostTaskLogs(
  tx: Tx,
  taskId: string,
  executionId: string | null,
): Promise<number[]> {
  const rows = await tx.$queryRawUnsafe<Array<{ seq: number }>>(
    FILL_LOST_SQL,
    taskId,
    executionId,
    LOST_LINE_MESSAGE,
  );
  return rows.map((row) => row.seq).sort((a, b) => a - b);
}

const RESERVE_SQL =
  'UPDATE "orchestration"."task_log_counters" SET "last_seq" = "last_seq" + $2 WHERE "task_id" = $1::uuid RETURNING "last_seq"';

const FILL_LOST_SQL = `WITH counter AS (
    SELECT "last_seq" FROM "orchestration"."task_log_counters" WHERE "task_id" = $1::uuid
  )
  INSERT INTO "orchestration"."task_logs"
    ("task_id", "seq", "execution_id", "level", "kind", "message", "data", "created_at")
  SELECT $1::uuid, s.seq, $2::uuid, 'WARN'::"orchestration"."LogLevel", 'STEP'::"orchestration"."LogKind", $3, NULL, now()
  FROM counter, generate_series(1, counter."last_seq") AS s(seq)
  WHERE NOT EXISTS (
    SELECT 1 FROM "orchestration"."task_logs" l WHERE l."task_id" = $1::uuid AND l."seq" = s.seq
  )
  ON CONFLICT DO NOTHING
  RETURNING "seq"`;

/** One TaskLogAppended per contiguous seq range of `rows` (sorted by seq). */
function appendedEvents(
  taskId: string,
  executionId: string | null,
  rows: ReadonlyArray<{ seq: number; level: LogLevel }>,
): Array<ReturnType<typeof TaskLogAppended.create>> {
  const events: Array<ReturnType<typeof TaskLogAppended.create>> = [];
  let start = 0;
  for (let index = 1; index <= rows.length; index += 1) {
    if (index < rows.length && rows[index]!.seq === rows[index - 1]!.seq + 1) continue;
    const range = rows.slice(start, index);
    let warnings = 0;
    let errors = 0;
    for (const row of range) {
      if (row.level === 'WARN') warnings += 1;
      else if (row.level === 'ERROR') errors += 1;
    }
    events.push(
      TaskLogAppended.create(
        {
          taskId,
          executionId,
          fromSeq: range[0]!.seq,
          toSeq: range[range.length - 1]!.seq,
          count: range.length,
          warnings,
          errors,
        },
        { source: EVENT_SOURCE, aggregateId: taskId },
      ),
    );
    start = index;
  }
  return events;
}

/** A queued entry as the row it becomes. */
export function storedRow(taskId: string, row: QueuedLogEntry & { seq: number }): TaskLog {
  return {
    taskId,
    seq: row.seq,
    executionId: row.executionId ?? null,
    level: row.level,
    kind: row.kind,
    message: row.message,
    data: (row.data ?? null) as TaskLog['data'],
    createdAt: row.createdAt,
  };
}

const INSERT_TASK_LOGS = `INSERT INTO "orchestration"."task_logs"
  ("task_id", "seq", "execution_id", "level", "kind", "message", "data", "created_at")
  SELECT $1::uuid, r.seq, r.execution_id, r.level, r.kind, r.message, r.data, r.created_at
  FROM json_to_recordset($2::json) AS r(
    seq int, execution_id uuid, level "orchestration"."LogLevel", kind "orchestration"."LogKind",
    message text, data jsonb, created_at timestamptz
  )`;

/**
 * The rows of {@link INSERT_TASK_LOGS} as one JSON array: one native `JSON.stringify` instead of seven array
 * parameters that the driver escaped element by element (a 1,000-line batch spent tens of ms of the event loop
 * there, in front of the live deliveries it shares the thread with).
 */
function taskLogRowsJson(
  rows: ReadonlyArray<Omit<Prisma.TaskLogCreateManyInput, 'taskId'> & { createdAt: Date }>,
): string {
  return JSON.stringify(
    rows.map((row) => ({
      seq: row.seq,
      execution_id: row.executionId ?? null,
      level: row.level,
      kind: row.kind,
      message: row.message,
      data: row.data === undefined ? null : row.data,
      created_at: row.createdAt,
    })),
  );
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
