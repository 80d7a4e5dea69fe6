/**
 * Live fan-out between instances: a message published on one instance reaches every subscriber of its topic on
 * every instance, at most once, in publish order per publisher. Nothing is stored: a subscriber sees only what
 * is published while it is subscribed. The bus is a low-latency hint, never the record: subscribers that must
 * not miss anything re-read their database when told of a gap (ADR 0005, ADR 0010, ADR 0012).
 *
 * Two adapters behind this interface: {@link RedisLiveBus} (Redis pub/sub, several instances) and
 * {@link MemoryLiveBus} (in process, one instance). Messages are JSON values in both: each is serialised once
 * per publish and parsed once per delivery, and every subscriber of one instance receives the same parsed value
 * (do not mutate it), so code behaves the same on either.
 */
export interface LiveBus {
  readonly kind: 'redis' | 'memory';
  /** Publishes a JSON-serialisable message on `topic`; resolves once handed to the transport. */
  publish(topic: string, message: unknown): Promise<void>;
  /**
   * Calls `onMessage` for every message on `topic` from now on. Resolves once the subscription is active, so a
   * message published after it resolves is received, or, while the transport is unreachable, at once (never
   * waiting for it: Redis is a signal bus, not a dependency, ADR 0012). `onGap` is called when messages may have
   * been missed: while the subscription is not active it is called every poll interval (the subscriber reads
   * the database instead), and once more when the subscription becomes active again, after which nothing
   * published is missed. Subscribers without `onGap` get live messages only.
   */
  subscribe(
    topic: string,
    onMessage: (message: unknown) => void,
    onGap?: () => void,
  ): Promise<LiveSubscription>;
  /** Probe for `/ready`: round-trip ms; throws while the transport is unreachable. */
  ping(): Promise<number>;
  /** Ends every subscription (and the connections the bus owns). Idempotent. */
  close(): Promise<void>;
}

/** One subscription to a topic. */
export interface LiveSubscription {
  /** Stops delivery to this subscriber. Idempotent. */
  close(): Promise<void>;
}
