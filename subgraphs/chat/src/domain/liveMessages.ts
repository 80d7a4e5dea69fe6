import { AsyncQueue, type LiveSubscription } from '@cap/live';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import { messagesTopic } from '../live/liveTopics.js';
import { requireScope } from './authorization.js';
import { assertParticipant } from './conversations.js';
import type { ChatDeps } from './deps.js';
import { loadMessageViews, type MessageEvent } from './messages.js';
import { decodeMessageCursor, parseId } from './validation.js';
import { parseMessageView, type MessageView } from './views.js';

/** Messages read from the database per catch-up query. */
const REPLAY_PAGE = 100;
/** Live messages held for a subscriber ahead of what it consumed; beyond it they are re-read from the database. */
const LIVE_BUFFER = 1_000;

// Every local subscriber of a conversation receives the same message value in turn (the live bus parses it once
// per instance): decode it once, not once each.
let lastMessage: unknown;
let lastEvent: MessageEvent | null = null;

/** Decodes a message of a conversation's messages topic (null when it is not one). Results are shared: do not mutate. */
export function parseMessageEvent(message: unknown): MessageEvent | null {
  if (message === lastMessage && message !== undefined) return lastEvent;
  lastEvent = decodeMessageEvent(message);
  lastMessage = message;
  return lastEvent;
}

function decodeMessageEvent(message: unknown): MessageEvent | null {
  try {
    if (typeof message !== 'object' || message === null) return null;
    const raw = message as { type?: unknown; message?: unknown };
    if (
      (raw.type !== 'posted' && raw.type !== 'updated') ||
      typeof raw.message !== 'object' ||
      raw.message === null
    )
      return null;
    return { type: raw.type, message: parseMessageView(JSON.stringify(raw.message)) };
  } catch {
    return null;
  }
}

/**
 * The messages of a conversation in seq order, each exactly once: first those after `afterSeq` (replayed from
 * the database), then new ones as they are posted. Without `afterSeq` it starts with the next message posted.
 *
 * How it stays gap-free and duplicate-free across instances and reconnects:
 * 1. it subscribes to the live channel *before* reading the database, so nothing committed afterwards is missed;
 * 2. it tracks the last seq it delivered and only ever delivers `last + 1`: from live messages it holds, or, when
 *    one is missing (published by another instance out of order, lost, or beyond the buffer), from the
 *    database, where every seq below a published one is already committed (posting locks the conversation row);
 * 3. anything at or below the last delivered seq is dropped.
 * A resubscribe after a disconnect passes the last cursor it received as `afterSeq` and continues seamlessly.
 */
export class MessageTail implements AsyncIterableIterator<MessageView> {
  readonly #deps: ChatDeps;
  readonly #conversationId: string;
  readonly #held = new Map<number, MessageView>();
  #lastSeq = 0;
  /** Highest seq announced live; above `#lastSeq` means something is waiting in the database. */
  #knownMax = 0;
  /** Replaying after `afterSeq` (or after a resync) until a short page says we are caught up. */
  #catchingUp: boolean;
  #subscription: LiveSubscription | undefined;
  #wake: (() => void) | undefined;
  #woken = false;
  #closed = false;
  readonly #ready: Promise<void>;

  private constructor(deps: ChatDeps, conversationId: string, afterSeq: number | null) {
    this.#deps = deps;
    this.#conversationId = conversationId;
    this.#catchingUp = afterSeq !== null;
    this.#lastSeq = afterSeq ?? 0;
    this.#ready = this.#start(afterSeq);
  }

  /** Opens a tail once the live subscription is active (so the caller can rely on nothing being missed). */
  static async open(deps: ChatDeps, conversationId: string, afterSeq: number | null): Promise<MessageTail> {
    const tail = new MessageTail(deps, conversationId, afterSeq);
    await tail.#ready;
    return tail;
  }

  async #start(afterSeq: number | null): Promise<void> {
    this.#subscription = await this.#deps.live.subscribe(
      messagesTopic(this.#conversationId),
      (message) => this.#onLive(message),
      () => {
        // Messages may have been missed (Redis reconnected, or is down and this is a poll tick): re-read.
        this.#catchingUp = true;
        this.#signal();
      },
    );
    if (afterSeq === null) {
      // Start after whatever is committed now; anything later is announced on the channel we already follow.
      const conversation = await this.#deps.prisma.conversation.findUnique({
        where: { id: this.#conversationId },
        select: { lastSeq: true },
      });
      this.#lastSeq = conversation?.lastSeq ?? 0;
      for (const seq of [...this.#held.keys()]) if (seq <= this.#lastSeq) this.#held.delete(seq);
    }
  }

  #onLive(message: unknown): void {
    const event = parseMessageEvent(message);
    if (!event || event.type !== 'posted' || event.message.conversationId !== this.#conversationId) return;
    const { seq } = event.message;
    if (seq <= this.#lastSeq) return;
    this.#knownMax = Math.max(this.#knownMax, seq);
    if (this.#held.size < LIVE_BUFFER || seq === this.#lastSeq + 1) this.#held.set(seq, event.message);
    this.#signal();
  }

  #signal(): void {
    this.#woken = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #waitForSignal(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    this.#woken = false;
  }

  async next(): Promise<IteratorResult<MessageView>> {
    await this.#ready;
    for (;;) {
      if (this.#closed) return { value: undefined, done: true };
      const next = this.#held.get(this.#lastSeq + 1);
      if (next) {
        this.#held.delete(next.seq);
        this.#lastSeq = next.seq;
        return { value: next, done: false };
      }
      if (this.#catchingUp || this.#knownMax > this.#lastSeq) {
        const views = await loadMessageViews(this.#deps.prisma, this.#conversationId, {
          afterSeq: this.#lastSeq,
          order: 'asc',
          limit: REPLAY_PAGE,
        });
        if (this.#closed) continue;
        for (const view of views) this.#held.set(view.seq, view);
        this.#catchingUp = views.length === REPLAY_PAGE;
        if (views.length > 0) continue;
        // Announced but not readable (cannot happen after a commit); wait for the next signal instead of spinning.
        this.#knownMax = this.#lastSeq;
      }
      await this.#waitForSignal();
    }
  }

  async return(): Promise<IteratorResult<MessageView>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#held.clear();
      this.#signal();
      await this.#subscription?.close();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MessageView> {
    return this;
  }
}

/**
 * `messagePosted`: checks that the caller may read the conversation (FORBIDDEN/NOT_FOUND before any event),
 * then tails it from `after` (a message cursor) or from now.
 */
export async function messagePostedStream(
  deps: ChatDeps,
  principal: Principal,
  args: { conversationId: string; after?: string | null | undefined },
): Promise<AsyncIterableIterator<MessageView>> {
  const caller = requireScope(principal, 'chat:read');
  const conversationId = parseId(args.conversationId, 'conversationId');
  const afterSeq = args.after ? decodeMessageCursor(args.after) : null;
  const conversation = await assertParticipant(deps.prisma, caller.userId, conversationId);
  if (afterSeq !== null && afterSeq > conversation.lastSeq) {
    // A cursor this conversation never issued: following it would silently skip the next messages.
    throw codedError(ErrorCode.BAD_USER_INPUT, 'The cursor is ahead of the conversation.', {
      field: 'after',
      expected: `a cursor of this conversation (at most seq ${conversation.lastSeq})`,
      received: `seq ${afterSeq}`,
    });
  }
  return MessageTail.open(deps, conversationId, afterSeq);
}

/** `messageUpdated`: edits, deletions and new attachments of a conversation's messages, from now on. */
export async function messageUpdatedStream(
  deps: ChatDeps,
  principal: Principal,
  args: { conversationId: string },
): Promise<AsyncIterableIterator<MessageView>> {
  const caller = requireScope(principal, 'chat:read');
  const conversationId = parseId(args.conversationId, 'conversationId');
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  const queue = new AsyncQueue<MessageView>({
    capacity: LIVE_BUFFER,
    onClose: async () => (await subscription).close(),
  });
  const subscription: Promise<LiveSubscription> = deps.live.subscribe(
    messagesTopic(conversationId),
    (message) => {
      const event = parseMessageEvent(message);
      if (event?.type === 'updated' && event.message.conversationId === conversationId)
        queue.push(event.message);
    },
  );
  await subscription;
  return queue;
}
