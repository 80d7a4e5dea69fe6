import { toTaskLogWire } from '../src/domain/liveMessages.js';
import type { TaskLog } from '../src/generated/prisma/client.js';
import { LiveTopic } from '../src/live/LiveTopic.js';
import { appendTaskLogs } from '../src/logs/taskLogs.js';
import type { Instance } from './harness.js';

/**
 * Stores `count` command-output lines (`<label> 1` … `<label> <count>`) on `taskId` as a worker would and returns
 * them; publishing is up to the test (see {@link publishTaskLogs}).
 */
export function storeTaskLogs(
  instance: Instance,
  taskId: string,
  count: number,
  label: string,
): Promise<TaskLog[]> {
  const batch = Array.from({ length: count }, (_, index) => ({
    level: 'INFO' as const,
    kind: 'COMMAND_OUTPUT' as const,
    message: `${label} ${index + 1}`,
    createdAt: new Date(),
  }));
  return appendTaskLogs(instance.orchestration.deps, taskId, null, batch);
}

/** Publishes stored entries on the task's live topic, as the writer does once they are stored. */
export function publishTaskLogs(instance: Instance, taskId: string, entries: TaskLog[]): Promise<void> {
  return instance.orchestration.deps.live.publish(LiveTopic.taskLogs(taskId), {
    entries: entries.map(toTaskLogWire),
  });
}

/**
 * Three writers' batches of ten lines (`a`, `b`, `c`), stored in order and published crossed: the third first, so
 * a subscriber sees a hole before it that only the database can fill, then the two that fill it.
 */
export async function storeAndPublishCrossed(instance: Instance, taskId: string): Promise<void> {
  const one = await storeTaskLogs(instance, taskId, 10, 'a');
  const two = await storeTaskLogs(instance, taskId, 10, 'b');
  const three = await storeTaskLogs(instance, taskId, 10, 'c');
  await publishTaskLogs(instance, taskId, three);
  await publishTaskLogs(instance, taskId, one);
  await publishTaskLogs(instance, taskId, two);
}
