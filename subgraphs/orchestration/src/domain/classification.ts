import type { EnvelopeOf, TaskClassified } from '@cap/events';
import type { CodingTask } from '../generated/prisma/client.js';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps, UnitOfWork } from './orchestrationDeps.js';
import { STRATEGY_BY_COMPLEXITY, selectStrategy } from './strategy.js';
import { applyTransition, queuePlan } from './tasks.js';
import { publishTaskChanged } from './liveMessages.js';

/** A classification arrived for a task orchestration does not know: it can never apply (dead-lettered). */
export class UnknownTaskError extends Error {
  override readonly name = 'UnknownTaskError';
  /** Read by runConsumer: dead-letter at once instead of retrying. */
  readonly retryable = false;
  constructor(readonly taskId: string) {
    super(`No task ${taskId} to classify.`);
  }
}

/** What {@link applyClassification} did. */
export type ClassificationOutcome = 'queued' | 'strategy-updated' | 'recorded';

/**
 * Applies a TaskClassified event inside the consumer's transaction (so it commits with the processed-mark).
 *
 * - CLASSIFYING: records type and complexity and queues the task with the strategy the complexity selects (or
 *   the creator's override).
 * - QUEUED with the default strategy (the classification came after the timeout) and not started yet: the late
 *   classification still picks the strategy, for the task and its queued execution.
 * - Anything else (running, finished, or the strategy was overridden): type and complexity are recorded only.
 *
 * The task row is locked first (`FOR UPDATE`), the same order every writer uses, so this never deadlocks.
 * @throws {UnknownTaskError} when the task does not exist
 */
export async function applyClassification(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  event: EnvelopeOf<typeof TaskClassified>,
): Promise<ClassificationOutcome> {
  const { taskId, type, complexity } = event.payload;
  const [locked] = await uow.tx.$queryRawUnsafe<Array<{ id: string }>>(
    'SELECT "id" FROM "orchestration"."coding_tasks" WHERE "id" = $1::uuid FOR UPDATE',
    taskId,
  );
  if (!locked) throw new UnknownTaskError(taskId);
  const task = await uow.tx.codingTask.findUniqueOrThrow({ where: { id: taskId } });

  if (task.status === 'CLASSIFYING') {
    const choice = selectStrategy({
      override: task.strategyOverride,
      complexity,
      defaultStrategy: deps.settings.defaultStrategy,
    });
    const queued = await applyTransition(
      deps,
      uow,
      task,
      queuePlan(deps, 'CLASSIFY', choice, { type, complexity }),
    );
    if (!queued) throw new Error(`task ${taskId} changed while locked`);
    return 'queued';
  }

  if (task.status === 'QUEUED' && task.strategySource === 'DEFAULT') {
    const strategy = STRATEGY_BY_COMPLEXITY[complexity];
    await recordLabels(deps, uow, task, { type, complexity, strategy, strategySource: 'CLASSIFICATION' });
    await uow.tx.taskExecution.updateMany({ where: { taskId, status: 'QUEUED' }, data: { strategy } });
    return 'strategy-updated';
  }

  await recordLabels(deps, uow, task, { type, complexity });
  return 'recorded';
}

/** Records labels (and possibly the strategy) without a status change; the version still moves. */
async function recordLabels(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  task: CodingTask,
  data: Pick<CodingTask, 'type' | 'complexity'> & Partial<Pick<CodingTask, 'strategy' | 'strategySource'>>,
): Promise<CodingTask> {
  const updated = await uow.tx.codingTask.update({
    where: { id: task.id },
    data: { ...data, version: { increment: 1 } },
  });
  uow.afterCommit(() => publishTaskChanged(deps, updated, task.status));
  return updated;
}

/**
 * Queues CLASSIFYING tasks whose classification did not arrive before their deadline, with the creator's
 * override or the configured default strategy, so that no task waits forever for a classifier that is down.
 * Several instances sweep at once without double work: the tasks are locked with `FOR UPDATE SKIP LOCKED`.
 * @returns the tasks queued
 */
export async function queueUnclassifiedTasks(deps: OrchestrationDeps, limit = 100): Promise<CodingTask[]> {
  return inTransaction(deps, async (uow) => {
    const due = await uow.tx.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT "id" FROM "orchestration"."coding_tasks"
       WHERE "status" = 'CLASSIFYING' AND "classification_deadline_at" <= now()
       ORDER BY "classification_deadline_at" LIMIT $1 FOR UPDATE SKIP LOCKED`,
      limit,
    );
    if (due.length === 0) return [];
    const tasks = await uow.tx.codingTask.findMany({ where: { id: { in: due.map((row) => row.id) } } });
    const queued: CodingTask[] = [];
    for (const task of tasks) {
      const choice = selectStrategy({
        override: task.strategyOverride,
        complexity: null,
        defaultStrategy: deps.settings.defaultStrategy,
      });
      const updated = await applyTransition(deps, uow, task, queuePlan(deps, 'CLASSIFY', choice));
      if (updated) queued.push(updated);
    }
    if (queued.length > 0)
      deps.logger.info(
        { tasks: queued.map((task) => task.id) },
        'classification timed out; default strategy applied',
      );
    return queued;
  });
}
