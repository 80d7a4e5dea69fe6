/**
 * Live fan-out of chat activity to the subscribers of every chat instance (docs/adr/0005).
 *
 * Delivery is at most once and only to subscribers connected when a message is published: the channel is a
 * low-latency hint, never the record. Messages are in the database; a subscriber that missed a hint (a Redis
 * reconnect, an instance restart) catches up from there, which is why {@link LiveListener.onResync} exists.
 */
export interface LiveChannel {
  readonly kind: 'redis' | 'memory';
  /** Sends `payload` to every current subscriber of `topic` on every instance. */
  publish(topic: string, payload: string): Promise<void>;
  /**
   * Starts delivering `topic` to `listener`. Resolves once the subscription is active, so anything published
   * after that reaches the listener, or, while the channel is unreachable, at once (never waiting for it: Redis
   * is a signal bus, not a dependency, ADR 0012); the listener's `onResync` is then called every poll interval
   * until the subscription is active, and once more when it is.
   */
  subscribe(topic: string, listener: LiveListener): Promise<LiveSubscription>;
  /** Probe for `/ready`: round-trip ms; throws when the channel is down. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Receives what is published on a topic. */
export interface LiveListener {
  onMessage(payload: string): void;
  /**
   * The channel may have lost messages (it reconnected, or is down and this is a poll tick); listeners that must
   * not miss anything re-read the state they follow from the database.
   */
  onResync?(): void;
}

/** An active subscription; `unsubscribe` is idempotent. */
export interface LiveSubscription {
  unsubscribe(): Promise<void>;
}

/** Topic of a conversation's message events (posted, updated). */
export function messagesTopic(conversationId: string): string {
  return `messages:${conversationId}`;
}

/** Topic of a conversation's ephemeral activity (typing, presence). */
export function activityTopic(conversationId: string): string {
  return `activity:${conversationId}`;
}
