import { interruptible, LiveFeed } from '@cap/live';
import type { CodingTask } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { taskMatchesFilter, type TaskFilter } from '../domain/taskQueries.js';
import { fromTaskWire, type TaskChangedMessage } from '../domain/liveMessages.js';

/** One change of a task, as list subscribers see it. */
export interface TaskChange {
  task: CodingTask;
  /** The status before the change; null when the task was just created. */
  previousStatus: CodingTask['status'] | null;
  /** False when the change took the task out of the subscriber's filter (drop it from the list). */
  inFilter: boolean;
}

/**
 * A task's state now, then after every change. Changes may arrive out of order from different instances; a
 * state older than one already emitted (lower `version`) is skipped, so subscribers never go back in time.
 */
export async function watchTask(
  deps: Pick<OrchestrationDeps, 'prisma' | 'live'>,
  taskId: string,
): Promise<AsyncGenerator<CodingTask>> {
  // Subscribe before reading, so that no change between the read and the subscription is missed.
  const feed = await LiveFeed.open<TaskChangedMessage>(deps.live, LiveTopic.task(taskId), {
    maxBuffered: 1_000,
  });
  async function* run(): AsyncGenerator<CodingTask> {
    try {
      const current = await deps.prisma.codingTask.findUnique({ where: { id: taskId } });
      let version = -1;
      if (current) {
        version = current.version;
        yield current;
      }
      for (;;) {
        const item = await feed.next();
        if (!item) return;
        // After a gap the database has the current state; otherwise the message carries it.
        const task =
          'gap' in item
            ? await deps.prisma.codingTask.findUnique({ where: { id: taskId } })
            : fromTaskWire(item.message.task);
        if (!task || task.version <= version) continue;
        version = task.version;
        yield task;
      }
    } finally {
      await feed.close();
    }
  }
  return interruptible(run(), () => feed.close());
}

/**
 * Every change of a task that matches `filter` now or matched it before the change (status filters compare
 * both the new and the previous status), so a list subscriber can add, update and remove rows.
 */
export async function watchTasks(
  deps: Pick<OrchestrationDeps, 'live'>,
  filter: TaskFilter | null | undefined,
): Promise<AsyncGenerator<TaskChange>> {
  const feed = await LiveFeed.open<TaskChangedMessage>(deps.live, LiveTopic.tasks);
  async function* run(): AsyncGenerator<TaskChange> {
    try {
      for (;;) {
        const item = await feed.next();
        if (!item) return;
        // A list subscription has no cursor to re-read from; after a gap the client re-queries its list.
        if ('gap' in item) continue;
        const message = item.message;
        const task = fromTaskWire(message.task);
        const inFilter = taskMatchesFilter(task, filter);
        const wasInFilter =
          message.previousStatus !== null &&
          taskMatchesFilter({ ...task, status: message.previousStatus }, filter);
        if (inFilter || wasInFilter) yield { task, previousStatus: message.previousStatus, inFilter };
      }
    } finally {
      await feed.close();
    }
  }
  return interruptible(run(), () => feed.close());
}
