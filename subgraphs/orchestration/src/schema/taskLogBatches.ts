import { builder } from '../builder.js';
import type { TaskLogBatch } from '../logs/taskLogTail.js';
import { TaskLogRef } from './refs.js';
import { taskLogSubscription } from './taskLog.js';

const TaskLogBatchRef = builder.objectRef<TaskLogBatch>('TaskLogBatch').implement({
  description:
    'Consecutive entries of a task’s log delivered at once: whatever was ready when the subscriber could take more.',
  fields: (t) => ({
    entries: t.field({
      type: [TaskLogRef],
      description:
        'The entries in `seq` order, contiguous (no hole) and following the previous batch’s `lastSeq`; never empty.',
      resolve: (batch) => batch.entries,
    }),
    lastSeq: t.exposeInt('lastSeq', {
      description:
        'The `seq` of the last entry: subscribe again with `afterSeq` set to it to resume after it.',
    }),
  }),
});

builder.subscriptionFields((t) => ({
  taskLogBatches: t.field({
    type: TaskLogBatchRef,
    description:
      "A task's log entries after `afterSeq`, like `taskLogs` (stored ones first, then live ones, each exactly once and in `seq` order) but several per event: a subscriber that keeps up receives each entry as soon as it is ready (often one per batch), one that falls behind receives larger batches (up to the server's `TASK_LOG_BATCH_MAX`) instead of a backlog of events. To resume after a disconnect, subscribe again with the last `lastSeq` received.",
    ...taskLogSubscription('lastSeq', (ctx, taskId, afterSeq) => ctx.logTails.tailBatches(taskId, afterSeq)),
    resolve: (batch) => batch,
  }),
}));
