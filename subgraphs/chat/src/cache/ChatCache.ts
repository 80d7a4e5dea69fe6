import type { MessageView } from '../domain/views.js';

/**
 * The recent-message cache: per conversation, a window of its newest messages (seqs `min..max`, contiguous,
 * newest `max` = the conversation's last seq), shared by every instance through Redis or in-process without it.
 *
 * Consistency: every change to a conversation's messages bumps its version and is applied to the window in
 * place; a reader that missed fills the window only if the version it read before querying the database is
 * still current, so a fill computed from an older snapshot never overwrites a newer change.
 */
export interface ChatCache {
  readonly kind: 'redis' | 'memory';
  /** The conversation's current version, to pass to {@link ChatCache.fill}. */
  version(conversationId: string): Promise<string>;
  /**
   * Messages with seq below `beforeSeq` (all, without it), newest first, at most `limit`; null when the window
   * does not hold all of them (a miss).
   */
  read(
    conversationId: string,
    options: { beforeSeq?: number | undefined; limit: number },
  ): Promise<MessageView[] | null>;
  /**
   * Replaces the window with `messages` (the newest of the conversation, newest first, contiguous) unless the
   * version moved on since `version` was read. Returns whether it was stored.
   */
  fill(conversationId: string, version: string, messages: readonly MessageView[]): Promise<boolean>;
  /** Applies a posted (appended) or changed (replaced in place) message to the window, if there is one. */
  apply(message: MessageView): Promise<void>;
  close(): Promise<void>;
}

/** How long an untouched window lives (ms); reads and writes extend it. */
export const WINDOW_TTL_MS = 60 * 60 * 1000;
