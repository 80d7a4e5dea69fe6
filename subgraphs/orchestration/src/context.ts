import type { Principal } from '@cap/runtime';
import DataLoader from 'dataloader';
import type { CodingTask, ExecutionResult, TaskExecution, TaskInput } from './generated/prisma/client.js';
import type { OrchestrationDeps } from './domain/orchestrationDeps.js';
import type { TaskLogTails } from './logs/taskLogTail.js';

/** Per-request context: who is calling (from the router's token), the use cases' deps, and batch loaders. */
export interface OrchestrationContext {
  principal: Principal;
  requestId: string;
  deps: OrchestrationDeps;
  /** Shared live tails of task logs, one per task with subscribers in this process. */
  logTails: TaskLogTails;
  loaders: Loaders;
}

/**
 * Batch loaders: whatever a list asks for (tasks, their executions, results and inputs, entity references) costs
 * one query per kind per request, never one per item.
 */
export class Loaders {
  /** Tasks by id (entity references, `task(id)`, `TaskExecution.task`). */
  readonly task: DataLoader<string, CodingTask | null>;
  /** Executions of each task, by attempt. */
  readonly executionsByTask: DataLoader<string, TaskExecution[]>;
  /** The result of each execution (null while it runs). */
  readonly resultByExecution: DataLoader<string, ExecutionResult | null>;
  /** Questions and answers of each task, oldest first. */
  readonly inputsByTask: DataLoader<string, TaskInput[]>;

  constructor(deps: Pick<OrchestrationDeps, 'prisma'>) {
    const { prisma } = deps;
    this.task = new DataLoader(async (ids) => {
      const tasks = await prisma.codingTask.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(tasks.map((task) => [task.id, task]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.executionsByTask = new DataLoader(async (taskIds) => {
      const executions = await prisma.taskExecution.findMany({
        where: { taskId: { in: [...taskIds] } },
        orderBy: { attempt: 'asc' },
      });
      const byTask = groupBy(executions, (execution) => execution.taskId);
      return taskIds.map((id) => byTask.get(id) ?? []);
    });
    this.resultByExecution = new DataLoader(async (executionIds) => {
      const results = await prisma.executionResult.findMany({
        where: { executionId: { in: [...executionIds] } },
      });
      const byId = new Map(results.map((result) => [result.executionId, result]));
      return executionIds.map((id) => byId.get(id) ?? null);
    });
    this.inputsByTask = new DataLoader(async (taskIds) => {
      const inputs = await prisma.taskInput.findMany({
        where: { taskId: { in: [...taskIds] } },
        orderBy: { askedAt: 'asc' },
      });
      const byTask = groupBy(inputs, (input) => input.taskId);
      return taskIds.map((id) => byTask.get(id) ?? []);
    });
  }

  /**
   * Forgets everything loaded. Subscriptions keep one context for their whole life and call this before each
   * event, so every event shows current data.
   */
  clear(): void {
    this.task.clearAll();
    this.executionsByTask.clearAll();
    this.resultByExecution.clearAll();
    this.inputsByTask.clearAll();
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
