import { TaskStarted } from '@cap/events';
import { inRunTransaction } from '../domain/runTransaction.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { applyTransition, EVENT_SOURCE, queuePlan } from '../domain/tasks.js';
import type { CodingTask, TaskExecution } from '../generated/prisma/client.js';
import { logSystemNote } from '../logs/taskLogs.js';
import { endExecution } from './executionEnd.js';

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
  return inRunTransaction(deps, async (uow) => {
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

/**
 * Gives an execution back to the queue at once (graceful shutdown of its worker): it ends LOST and its task gets
 * a new attempt, without counting against `maxExecutionAttempts`. Fenced like {@link finishExecution}.
 */
export async function releaseExecution(
  deps: OrchestrationDeps,
  options: { executionId: string; workerId: string },
): Promise<boolean> {
  const taskId = await inRunTransaction(deps, async (uow): Promise<string | null> => {
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
