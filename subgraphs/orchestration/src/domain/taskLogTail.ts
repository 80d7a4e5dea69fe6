import type { TaskLog } from '../generated/prisma/client.js';
import { LiveChannel } from '../live/LiveBus.js';
import { interruptible, LiveFeed } from '../live/LiveFeed.js';
import type { OrchestrationDeps } from './deps.js';
import { readTaskLogs } from './taskLogs.js';
import { fromTaskLogWire, type TaskLogWire } from './wire.js';

/** Entries read from the database per query while replaying or filling a gap. */
const PAGE = 500;

/**
 * A task's log from `afterSeq` on: the stored entries, then live ones as they are written, each exactly once
 * and in `seq` order, with no gap.
 *
 * 1. Subscribe to the task's live channel first (buffering), so nothing written from now on can be missed.
 * 2. Replay the stored entries after `afterSeq` from the database, page by page.
 * 3. Drain the live batches, skipping entries already emitted (`seq <= last`). When a batch starts beyond
 *    `last + 1` (batches of several writers crossed, or the live buffer overflowed), the missing range is read
 *    from the database first: every entry below a published one is already committed, because `seq` ranges are
 *    handed out under the counter row's lock, which is held until the writing transaction commits.
 * 4. On a gap notice (the Redis connection came back, or the live buffer overflowed) everything after `last` is
 *    read from the database.
 */
export async function tailTaskLogs(deps: Pick<OrchestrationDeps, 'prisma' | 'live'>, taskId: string, afterSeq: number): Promise<AsyncGenerator<TaskLog>> {
  const feed = await LiveFeed.open<{ entries: TaskLogWire[] }>(deps.live, LiveChannel.taskLogs(taskId));
  async function* run(): AsyncGenerator<TaskLog> {
    let last = afterSeq;
    // Everything stored in (last, beforeSeq), oldest first.
    async function* fill(beforeSeq?: number): AsyncGenerator<TaskLog> {
      for (;;) {
        const page = await readTaskLogs(deps, taskId, last, PAGE, beforeSeq);
        for (const entry of page) {
          last = entry.seq;
          yield entry;
        }
        if (page.length < PAGE) return;
      }
    }
    try {
      yield* fill();
      for (;;) {
        const item = await feed.next();
        if (!item) return;
        if ('gap' in item) {
          // Live messages may have been missed (Redis reconnected, or this reader fell far behind).
          yield* fill();
          continue;
        }
        for (const wire of item.message.entries) {
          if (wire.seq <= last) continue;
          if (wire.seq > last + 1) yield* fill(wire.seq);
          if (wire.seq <= last) continue;
          last = wire.seq;
          yield fromTaskLogWire(wire);
        }
      }
    } finally {
      await feed.close();
    }
  }
  return interruptible(run(), () => feed.close());
}
