/**
 * The live-bus topics orchestration publishes and subscribes to (`@cap/live`), in one place. Each becomes the
 * Redis channel `<LIVE_CHANNEL_PREFIX><topic>`.
 */
export const LiveTopic = {
  /** Batches of new log entries of one task: `{ entries: TaskLogWire[] }`. */
  taskLogs: (taskId: string) => `task-logs:${taskId}`,
  /** A task's new state after every change: `{ task: TaskWire }`. Workers also learn of cancellation here. */
  task: (taskId: string) => `task:${taskId}`,
  /** Every task's new state, for list subscriptions: `{ task: TaskWire }`. */
  tasks: 'tasks',
  /** New work was queued: wakes idle workers on every instance. */
  queue: 'queue',
} as const;
