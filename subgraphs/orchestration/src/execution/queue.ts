import { TaskCompleted, TaskFailed, TaskInputRequested, TaskStarted } from '@cap/events';
import type { CodingTask, ExecutionStatus, Prisma, TaskExecution } from '../generated/prisma/client.js';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps, UnitOfWork } from '../domain/orchestrationDeps.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { ExecutionOutcome, ExecutionSuccess } from './executor.js';
import { selectStrategy } from '../domain/strategy.js';
import { appendTaskLogs } from '../logs/taskLogs.js';
import { applyTransition, EVENT_SOURCE, queuePlan, type TransitionPlan } from '../domain/tasks.js';
import { toTaskLogWire } from '../domain/liveMessages.js';
import { LiveTopic } from '../live/LiveTopic.js';

/**
 * The work queue, in PostgreSQL (docs/adr/0006): an execution row in QUEUED is a unit of work. Workers claim
 * rows with `FOR UPDATE SKIP LOCKED` (so any number of workers on any number of instances share the queue and
 * never take the same row), hold them under a lease they renew by heartbeat, and fence every later write with
 * `worker_id` so that a worker that lost its lease can no longer change the outcome.
 *
 * Lock order, everywhere: the task row before its execution rows. Statements that lock both at once use
 * `FOR UPDATE OF e, t SKIP LOCKED` and therefore never wait, so no deadlock is possible.
 */

/** A claimed execution with its task. */
export interface ClaimedExecution {
  execution: TaskExecution;
  task: CodingTask;
}

const sql = {
  claim: `SELECT e."id", e."task_id" FROM "orchestration"."task_executions" e
          JOIN "orchestration"."coding_tasks" t ON t."id" = e."task_id"
          WHERE e."status" = 'QUEUED' AND t."status" = 'QUEUED'
          ORDER BY e."priority" DESC, e."queued_at", e."id"
          LIMIT $1
          FOR UPDATE OF e, t SKIP LOCKED`,
  start: `UPDATE "orchestration"."task_executions"
          SET "status" = 'RUNNING', "worker_id" = $2, "started_at" = now(), "heartbeat_at" = now(),
              "lease_expires_at" = now() + ($3::int * interval '1 millisecond')
          WHERE "id" = ANY($1::uuid[])`,
  renew: `UPDATE "orchestration"."task_executions" e
          SET "lease_expires_at" = now() + ($3::int * interval '1 millisecond'), "heartbeat_at" = now()
          FROM "orchestration"."coding_tasks" t
          WHERE e."id" = ANY($1::uuid[]) AND e."worker_id" = $2 AND e."status" = 'RUNNING' AND t."id" = e."task_id"
          RETURNING e."id", (e."cancel_requested_at" IS NOT NULL OR t."status" = 'CANCELLED') AS "cancelled"`,
  expired: `SELECT e."id" FROM "orchestration"."task_executions" e
            JOIN "orchestration"."coding_tasks" t ON t."id" = e."task_id"
            WHERE e."status" = 'RUNNING' AND e."lease_expires_at" < now()
            ORDER BY e."lease_expires_at"
            LIMIT $1
            FOR UPDATE OF e, t SKIP LOCKED`,
};

/**
 * Claims up to `limit` queued executions for `workerId`: each becomes RUNNING under a lease of `leaseMs`, its
 * task becomes RUNNING (QUEUED → RUNNING) and TaskStarted is recorded, all in one transaction.
 */
export async function claimExecutions(
  deps: OrchestrationDeps,
  options: { workerId: string; limit: number; leaseMs: number },
): Promise<ClaimedExecution[]> {
  if (options.limit <= 0) return [];
  return inTransaction(deps, async (uow) => {
    const rows = await uow.tx.$queryRawUnsafe<Array<{ id: string; task_id: string }>>(
      sql.claim,
      options.limit,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    await uow.tx.$executeRawUnsafe(sql.start, ids, options.workerId, options.leaseMs);
    const [executions, tasks] = await Promise.all([
      uow.tx.taskExecution.findMany({ where: { id: { in: ids } } }),
      uow.tx.codingTask.findMany({ where: { id: { in: rows.map((row) => row.task_id) } } }),
    ]);
    const tasksById = new Map(tasks.map((task) => [task.id, task]));
    const claimed: ClaimedExecution[] = [];
    for (const execution of executions) {
      const task = tasksById.get(execution.taskId);
      if (!task) continue;
      const running = await applyTransition(deps, uow, task, {
        to: 'RUNNING',
        on: 'CLAIM',
        data: { startedAt: task.startedAt ?? new Date() },
        apply: async ({ tx }) => {
          await deps.events.record(tx, [
            TaskStarted.create(
              {
                taskId: task.id,
                executionId: execution.id,
                attempt: execution.attempt,
                strategy: execution.strategy,
                workerId: options.workerId,
              },
              { source: EVENT_SOURCE, aggregateId: task.id },
            ),
          ]);
        },
      });
      // Locked by this transaction since the claim: the optimistic update cannot miss.
      if (!running) throw new Error(`task ${task.id} changed while locked`);
      claimed.push({ execution, task: running });
    }
    return claimed;
  });
}

/** What a heartbeat learnt about one execution. */
export interface LeaseState {
  /** The lease was renewed (false: this worker no longer holds it). */
  held: boolean;
  /** The task was cancelled: stop the execution. */
  cancelled: boolean;
}

/** Renews the leases `workerId` holds on `executionIds` and reports cancellations, in one statement. */
export async function renewLeases(
  deps: OrchestrationDeps,
  options: { workerId: string; executionIds: string[]; leaseMs: number },
): Promise<Map<string, LeaseState>> {
  const states = new Map<string, LeaseState>(
    options.executionIds.map((id) => [id, { held: false, cancelled: false }]),
  );
  if (options.executionIds.length === 0) return states;
  const rows = await deps.prisma.$queryRawUnsafe<Array<{ id: string; cancelled: boolean }>>(
    sql.renew,
    options.executionIds,
    options.workerId,
    options.leaseMs,
  );
  for (const row of rows) states.set(row.id, { held: true, cancelled: row.cancelled });
  return states;
}

/** Usage an executor reported for an execution. */
export interface ExecutionUsage {
  model: string | null;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

/** How the worker ends an execution. */
export type ExecutionEnd = ExecutionOutcome | { kind: 'cancelled' };

/**
 * Records how an execution ended and moves its task on: SUCCEEDED (TaskCompleted), FAILED (TaskFailed) or
 * AWAITING_INPUT (TaskInputRequested). Fenced: nothing is written unless `workerId` still holds the execution
 * (a worker whose lease expired and was recovered elsewhere cannot overwrite the new attempt's state). When the
 * task was cancelled meanwhile, the execution is recorded CANCELLED whatever the outcome.
 * @returns false when the execution was no longer this worker's
 */
export async function finishExecution(
  deps: OrchestrationDeps,
  options: {
    executionId: string;
    workerId: string;
    end: ExecutionEnd;
    usage: ExecutionUsage;
    executor: string | null;
    durationMs: number;
  },
): Promise<boolean> {
  const { executionId, workerId, end, usage } = options;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const outcome = await inTransaction(deps, async (uow): Promise<'done' | 'fenced' | 'conflict'> => {
      const execution = await uow.tx.taskExecution.findUnique({
        where: { id: executionId },
        include: { task: true },
      });
      if (!execution || execution.status !== 'RUNNING' || execution.workerId !== workerId) return 'fenced';
      const { task } = execution;
      const usageData = {
        executor: options.executor,
        model: usage.model,
        tokensIn: usage.tokensIn,
        tokensOut: usage.tokensOut,
        costUsd: usage.costUsd,
      };
      if (end.kind === 'cancelled' || task.status !== 'RUNNING') {
        // Cancelled (or moved on by someone else): the execution ends, the task's state stays as it is.
        const status: ExecutionStatus =
          task.status === 'CANCELLED' || end.kind === 'cancelled' ? 'CANCELLED' : 'FAILED';
        await endExecution(uow, execution, status, usageData, {
          summary: status === 'CANCELLED' ? 'Cancelled.' : `Stopped: the task was ${task.status} meanwhile.`,
        });
        return 'done';
      }
      const plan = finishPlan(deps, execution, end, usageData, options.durationMs);
      return (await applyTransition(deps, uow, task, plan)) ? 'done' : 'conflict';
    });
    if (outcome === 'done') return true;
    if (outcome === 'fenced') {
      deps.logger.warn(
        { executionId, workerId },
        'execution is no longer held by this worker; its outcome is discarded',
      );
      return false;
    }
  }
  throw new Error(`could not record the end of execution ${executionId}: the task kept changing`);
}

function finishPlan(
  deps: OrchestrationDeps,
  execution: TaskExecution & { task: CodingTask },
  end: ExecutionOutcome,
  usage: Prisma.TaskExecutionUpdateInput,
  durationMs: number,
): TransitionPlan {
  const { task } = execution;
  const aggregate = { source: EVENT_SOURCE, aggregateId: task.id };
  switch (end.kind) {
    case 'succeeded': {
      const result = end.result;
      return {
        to: 'SUCCEEDED',
        on: 'SUCCEED',
        data: { finishedAt: new Date() },
        apply: async (uow) => {
          await endExecution(uow, execution, 'SUCCEEDED', usage, {
            summary: result.summary,
            ...workDone(result),
            pullRequestUrl: result.pullRequestUrl ?? null,
            exitCode: result.exitCode ?? null,
          });
          await deps.events.record(uow.tx, [
            TaskCompleted.create(
              {
                taskId: task.id,
                executionId: execution.id,
                attempt: execution.attempt,
                summary: result.summary,
                changedFiles: result.changedFiles?.length ?? 0,
                pullRequestUrl: result.pullRequestUrl ?? null,
                durationMs: Math.max(0, Math.round(durationMs)),
              },
              aggregate,
            ),
          ]);
        },
      };
    }
    case 'failed':
      return {
        to: 'FAILED',
        on: 'FAIL',
        data: { finishedAt: new Date() },
        apply: async (uow) => {
          await endExecution(uow, execution, 'FAILED', usage, {
            summary: end.result?.summary ?? end.error.message,
            ...workDone(end.result ?? {}),
            exitCode: end.result?.exitCode ?? null,
            errorCode: end.error.code,
            errorMessage: end.error.message,
            errorCause: end.error.cause ?? null,
          });
          await deps.events.record(uow.tx, [
            TaskFailed.create(
              {
                taskId: task.id,
                executionId: execution.id,
                attempt: execution.attempt,
                error: { code: end.error.code, message: end.error.message.slice(0, 2_000) },
              },
              aggregate,
            ),
          ]);
        },
      };
    case 'awaiting_input':
      return {
        to: 'AWAITING_INPUT',
        on: 'ASK',
        apply: async (uow) => {
          await endExecution(uow, execution, 'AWAITING_INPUT', usage, {
            summary: 'Waiting for the creator’s answer.',
          });
          const input = await uow.tx.taskInput.create({
            data: { taskId: task.id, executionId: execution.id, question: end.question },
          });
          await deps.events.record(uow.tx, [
            TaskInputRequested.create(
              { taskId: task.id, executionId: execution.id, inputId: input.id, question: end.question },
              aggregate,
            ),
          ]);
        },
      };
  }
}

/** Longest diff stored with a result, characters (executors cap theirs lower; this guards the table). */
const MAX_STORED_DIFF_CHARS = 1_000_000;

/** The result columns describing the change an execution made (and, for the agent, its branch and effort). */
function workDone(
  result: Partial<ExecutionSuccess>,
): Omit<Prisma.ExecutionResultUncheckedCreateInput, 'executionId' | 'taskId' | 'summary'> {
  return {
    changedFiles: result.changedFiles ?? [],
    filesChanged: result.diffStats?.filesChanged ?? result.changedFiles?.length ?? 0,
    additions: result.diffStats?.additions ?? 0,
    deletions: result.diffStats?.deletions ?? 0,
    branch: result.branch ?? null,
    commitSha: result.commitSha ?? null,
    diff: result.diff === undefined ? null : result.diff.slice(0, MAX_STORED_DIFF_CHARS),
    stopReason: result.stopReason ?? null,
    toolCalls: result.usage?.toolCalls ?? 0,
    modelCalls: result.usage?.modelCalls ?? 0,
  };
}

/** Ends an execution row and stores its result. */
async function endExecution(
  uow: UnitOfWork,
  execution: TaskExecution,
  status: ExecutionStatus,
  data: Prisma.TaskExecutionUpdateInput,
  result: Omit<Prisma.ExecutionResultUncheckedCreateInput, 'executionId' | 'taskId'>,
): Promise<void> {
  await uow.tx.taskExecution.update({
    where: { id: execution.id },
    data: { ...data, status, endedAt: new Date(), leaseExpiresAt: null },
  });
  await uow.tx.executionResult.create({
    data: { ...result, executionId: execution.id, taskId: execution.taskId },
  });
}

/**
 * Recovers executions whose worker stopped renewing its lease (it crashed, was killed, or lost the database):
 * each becomes LOST and its task gets a new attempt (RUNNING → QUEUED), unless `maxExecutionAttempts`
 * executions in a row were lost, in which case the task FAILs with WORKER_LOST. An execution of a task that was
 * cancelled meanwhile simply ends CANCELLED. Safe on several instances at once (`SKIP LOCKED`).
 * @returns how many executions were recovered
 */
export async function recoverExpiredLeases(deps: OrchestrationDeps, limit = 50): Promise<number> {
  const notes: Array<{ taskId: string; executionId: string; message: string }> = [];
  const recovered = await inTransaction(deps, async (uow) => {
    const rows = await uow.tx.$queryRawUnsafe<Array<{ id: string }>>(sql.expired, limit);
    if (rows.length === 0) return 0;
    const executions = await uow.tx.taskExecution.findMany({
      where: { id: { in: rows.map((row) => row.id) } },
      include: { task: true },
    });
    for (const execution of executions) {
      const { task } = execution;
      const lostWhy = `its worker ${execution.workerId ?? '?'} stopped renewing the lease`;
      if (task.status !== 'RUNNING') {
        const status: ExecutionStatus = task.status === 'CANCELLED' ? 'CANCELLED' : 'LOST';
        await endExecution(
          uow,
          execution,
          status,
          {},
          { summary: `Attempt ${execution.attempt} ended: ${lostWhy}.` },
        );
        continue;
      }
      const lost = task.lostCount + 1;
      const result = {
        summary: `Attempt ${execution.attempt} was lost: ${lostWhy}.`,
        errorCode: ExecutionErrorCode.WORKER_LOST,
        errorMessage: `The worker running attempt ${execution.attempt} was lost.`,
        errorCause: `lease expired at ${execution.leaseExpiresAt?.toISOString() ?? 'unknown'}`,
      };
      if (lost >= deps.settings.maxExecutionAttempts) {
        const failed = await applyTransition(deps, uow, task, {
          to: 'FAILED',
          on: 'FAIL',
          data: { finishedAt: new Date(), lostCount: lost },
          apply: async ({ tx }) => {
            await endExecution(uow, execution, 'LOST', {}, result);
            await deps.events.record(tx, [
              TaskFailed.create(
                {
                  taskId: task.id,
                  executionId: execution.id,
                  attempt: execution.attempt,
                  error: {
                    code: ExecutionErrorCode.WORKER_LOST,
                    message: `${lost} attempts in a row lost their worker.`,
                  },
                },
                { source: EVENT_SOURCE, aggregateId: task.id },
              ),
            ]);
          },
        });
        if (!failed) throw new Error(`task ${task.id} changed while locked`);
        notes.push({
          taskId: task.id,
          executionId: execution.id,
          message: `${result.summary} ${lost} attempts lost in a row: the task failed.`,
        });
        continue;
      }
      const choice =
        task.strategy && task.strategySource
          ? { strategy: task.strategy, source: task.strategySource }
          : selectStrategy({
              override: task.strategyOverride,
              complexity: task.complexity,
              defaultStrategy: deps.settings.defaultStrategy,
            });
      const plan = queuePlan(deps, 'REQUEUE', choice, { lostCount: lost });
      const requeued = await applyTransition(deps, uow, task, {
        ...plan,
        apply: async (inner, before, after) => {
          // The lost execution ends first: a task has at most one unfinished execution (unique index).
          await endExecution(inner, execution, 'LOST', {}, result);
          await plan.apply?.(inner, before, after);
        },
      });
      if (!requeued) throw new Error(`task ${task.id} changed while locked`);
      notes.push({
        taskId: task.id,
        executionId: execution.id,
        message: `${result.summary} Attempt ${execution.attempt + 1} is queued.`,
      });
    }
    return executions.length;
  });
  for (const note of notes) await logSystemNote(deps, note.taskId, note.executionId, 'WARN', note.message);
  if (recovered > 0) deps.logger.warn({ recovered }, 'recovered executions whose worker was lost');
  return recovered;
}

/**
 * Gives an execution back to the queue at once (graceful shutdown of its worker): it ends LOST and its task gets
 * a new attempt, without counting against `maxExecutionAttempts`. Fenced like {@link finishExecution}.
 */
export async function releaseExecution(
  deps: OrchestrationDeps,
  options: { executionId: string; workerId: string },
): Promise<boolean> {
  const taskId = await inTransaction(deps, async (uow): Promise<string | null> => {
    const execution = await uow.tx.taskExecution.findUnique({
      where: { id: options.executionId },
      include: { task: true },
    });
    if (!execution || execution.status !== 'RUNNING' || execution.workerId !== options.workerId) return null;
    const { task } = execution;
    const result = { summary: `Attempt ${execution.attempt} was handed back: its worker shut down.` };
    if (task.status !== 'RUNNING') {
      await endExecution(uow, execution, task.status === 'CANCELLED' ? 'CANCELLED' : 'LOST', {}, result);
      return null;
    }
    const plan = queuePlan(deps, 'REQUEUE', {
      strategy: execution.strategy,
      source: task.strategySource ?? 'DEFAULT',
    });
    const requeued = await applyTransition(deps, uow, task, {
      ...plan,
      apply: async (inner, before, after) => {
        await endExecution(inner, execution, 'LOST', {}, result);
        await plan.apply?.(inner, before, after);
      },
    });
    return requeued ? task.id : null;
  });
  if (taskId)
    await logSystemNote(
      deps,
      taskId,
      options.executionId,
      'INFO',
      'The worker shut down; the task is queued again.',
    );
  return taskId !== null;
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
