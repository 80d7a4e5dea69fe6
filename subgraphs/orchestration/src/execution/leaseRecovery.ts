import { TaskFailed } from '@cap/events';
import { inRunTransaction } from '../domain/runTransaction.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { selectStrategy } from '../domain/strategy.js';
import { applyTransition, EVENT_SOURCE, queuePlan } from '../domain/tasks.js';
import type { ExecutionStatus } from '../generated/prisma/client.js';
import { fillLostTaskLogs, logSystemNote, type TaskLogLiveMessage } from '../logs/taskLogs.js';
import { LiveTopic } from '../live/LiveTopic.js';
import { endExecution } from './executionEnd.js';
import { chatLinkOf } from '../chat/chatLink.js';

/** Running executions whose lease expired, oldest first (the task row is locked with them, never waited for). */
const EXPIRED_SQL = `SELECT e."id" FROM "orchestration"."task_executions" e
            JOIN "orchestration"."coding_tasks" t ON t."id" = e."task_id"
            WHERE e."status" = 'RUNNING' AND e."lease_expires_at" < now()
            ORDER BY e."lease_expires_at"
            LIMIT $1
            FOR UPDATE OF e, t SKIP LOCKED`;

/**
 * Recovers executions whose worker stopped renewing its lease (it crashed, was killed, or lost the database):
 * each becomes LOST and its task gets a new attempt (RUNNING → QUEUED), unless `maxExecutionAttempts`
 * executions in a row were lost, in which case the task FAILs with WORKER_LOST. An execution of a task that was
 * cancelled meanwhile simply ends CANCELLED. Safe on several instances at once (`SKIP LOCKED`).
 * @returns how many executions were recovered
 */
export async function recoverExpiredLeases(deps: OrchestrationDeps, limit = 50): Promise<number> {
  const notes: Array<{ taskId: string; executionId: string; message: string }> = [];
  const ended = new Set<string>();
  const recovered = await inRunTransaction(deps, async (uow) => {
    const rows = await uow.tx.$queryRawUnsafe<Array<{ id: string }>>(EXPIRED_SQL, limit);
    if (rows.length === 0) return 0;
    const executions = await uow.tx.taskExecution.findMany({
      where: { id: { in: rows.map((row) => row.id) } },
      include: { task: true },
    });
    for (const execution of executions) {
      const { task } = execution;
      ended.add(task.id);
      // Lines its worker published and never stored get placeholders, so the log stays dense (ADR 0028).
      await fillLostTaskLogs(uow.tx, task.id, execution.id);
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
                  ...chatLinkOf(task),
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
  // Live readers waiting on a hole the placeholders filled look again.
  for (const taskId of ended) {
    await deps.live
      .publish(LiveTopic.taskLogs(taskId), { stored: 0 } satisfies TaskLogLiveMessage)
      .catch((error: unknown) => deps.logger.warn({ err: error, taskId }, 'live task-log publish failed'));
  }
  for (const note of notes) await logSystemNote(deps, note.taskId, note.executionId, 'WARN', note.message);
  if (recovered > 0) deps.logger.warn({ recovered }, 'recovered executions whose worker was lost');
  return recovered;
}
