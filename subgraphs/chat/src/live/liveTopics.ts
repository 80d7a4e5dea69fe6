/**
 * The live-bus topics chat publishes and subscribes to (`@cap/live`, ADR 0005). Each becomes the Redis channel
 * `<REDIS_KEY_PREFIX>live:<topic>`.
 */

/** Topic of a conversation's message events (posted, updated): `MessageEvent` values. */
export function messagesTopic(conversationId: string): string {
  return `messages:${conversationId}`;
}

/** Topic of a conversation's ephemeral activity (typing, presence). */
export function activityTopic(conversationId: string): string {
  return `activity:${conversationId}`;
}
