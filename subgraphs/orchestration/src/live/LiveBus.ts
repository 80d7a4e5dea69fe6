/**
 * Live fan-out between orchestration instances: a message published on one instance reaches every subscriber
 * of its channel on every instance, at most once, in publish order per publisher. Nothing is stored: a
 * subscriber sees only what is published while it is subscribed (task logs fill gaps from the database).
 *
 * Two adapters behind this interface: {@link RedisLiveBus} (Redis pub/sub, several instances) and
 * {@link MemoryLiveBus} (in-process, one instance). Messages are JSON values in both: the in-memory bus copies
 * them through JSON too, so code behaves the same on either.
 */
export interface LiveBus {
  readonly kind: 'redis' | 'memory';
  /** Publishes a JSON-serialisable message; resolves once handed to the transport. */
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Calls `onMessage` for every message on `channel` from now on. Resolves once the subscription is active,
   * so a message published after it resolves is received, or, while the transport is unreachable, at once
   * (never waiting for it: Redis is a signal bus, not a dependency, ADR 0012). `onGap` is called when messages
   * may have been missed: while the subscription is not active it is called every poll interval (the
   * subscriber reads the database instead), and once more when the subscription becomes active again, after
   * which nothing published is missed. Subscribers without `onGap` get live messages only.
   */
  subscribe(channel: string, onMessage: (message: unknown) => void, onGap?: () => void): Promise<LiveSubscription>;
  /** Probe for `/ready`: round-trip ms; throws while the transport is unreachable. */
  ping(): Promise<number>;
  /** Ends every subscription and the connections. Idempotent. */
  close(): Promise<void>;
}

/** One subscription to a channel. */
export interface LiveSubscription {
  /** Stops delivery to this subscriber. Idempotent. */
  close(): Promise<void>;
}

/** The channels orchestration uses, in one place. */
export const LiveChannel = {
  /** Batches of new log entries of one task: `{ entries: TaskLogWire[] }`. */
  taskLogs: (taskId: string) => `task-logs:${taskId}`,
  /** A task's new state after every change: `{ task: TaskWire }`. Workers also learn of cancellation here. */
  task: (taskId: string) => `task:${taskId}`,
  /** Every task's new state, for list subscriptions: `{ task: TaskWire }`. */
  tasks: 'tasks',
  /** New work was queued: wakes idle workers on every instance. */
  queue: 'queue',
} as const;
