import type { CodingTask, TaskLog } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from './orchestrationDeps.js';

/** A task as it travels on the live bus: the row, dates as ISO strings. */
export type TaskWire = Omit<
  CodingTask,
  'classificationDeadlineAt' | 'createdAt' | 'updatedAt' | 'startedAt' | 'finishedAt'
> & {
  classificationDeadlineAt: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

/** A log entry as it travels on the live bus. */
export type TaskLogWire = Omit<TaskLog, 'createdAt'> & { createdAt: string };

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);
const date = (value: string | null): Date | null => (value === null ? null : new Date(value));

/** Serialises a task row for the live bus. */
export function toTaskWire(task: CodingTask): TaskWire {
  return {
    ...task,
    classificationDeadlineAt: iso(task.classificationDeadlineAt),
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
  };
}

/** Turns a live task back into a row. */
export function fromTaskWire(wire: TaskWire): CodingTask {
  return {
    ...wire,
    classificationDeadlineAt: date(wire.classificationDeadlineAt),
    createdAt: new Date(wire.createdAt),
    updatedAt: new Date(wire.updatedAt),
    startedAt: date(wire.startedAt),
    finishedAt: date(wire.finishedAt),
  };
}

/** Serialises a log row for the live bus. */
export function toTaskLogWire(entry: TaskLog): TaskLogWire {
  return { ...entry, createdAt: entry.createdAt.toISOString() };
}

/** Turns a live log entry back into a row. */
export function fromTaskLogWire(wire: TaskLogWire): TaskLog {
  return { ...wire, createdAt: new Date(wire.createdAt) };
}

/** What the task channels carry: the task's new state and its status before the change (null: just created). */
export interface TaskChangedMessage {
  task: TaskWire;
  previousStatus: CodingTask['status'] | null;
}

/** Tells every instance's subscribers (and the worker running it) that a task changed. */
export async function publishTaskChanged(
  deps: Pick<OrchestrationDeps, 'live'>,
  task: CodingTask,
  previousStatus: CodingTask['status'] | null,
): Promise<void> {
  const message: TaskChangedMessage = { task: toTaskWire(task), previousStatus };
  await Promise.all([
    deps.live.publish(LiveTopic.task(task.id), message),
    deps.live.publish(LiveTopic.tasks, message),
  ]);
}

/** Wakes idle workers on every instance: an execution was queued. */
export async function publishWorkQueued(deps: Pick<OrchestrationDeps, 'live'>): Promise<void> {
  await deps.live.publish(LiveTopic.queue, {});
}
