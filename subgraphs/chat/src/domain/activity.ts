import { AsyncQueue, type LiveSubscription } from '@cap/live';
import { LogThrottle, type Principal } from '@cap/runtime';
import { activityTopic } from '../live/liveTopics.js';
import { requireScope } from './authorization.js';
import { assertParticipant } from './conversations.js';
import type { ChatDeps } from './deps.js';
import { parseId } from './validation.js';

/**
 * Typing indicators and presence: ephemeral state kept in an {@link EphemeralSet} with a TTL (nothing in
 * PostgreSQL), announced on the conversation's activity topic. Subscribers see transitions only (started /
 * stopped typing, came online / went offline); the stop is derived from the TTL when nobody says so.
 */

/** A change of who is typing. */
export interface TypingEvent {
  conversationId: string;
  userId: string;
  typing: boolean;
}

/** A change of who is online in a conversation. */
export interface PresenceEvent {
  conversationId: string;
  userId: string;
  online: boolean;
  /** Until when the participant counts as online without a new heartbeat (null once offline). */
  expiresAt: Date | null;
}

/** What the activity topic carries. */
interface ActivitySignal {
  kind: 'typing' | 'presence';
  userId: string;
  active: boolean;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Late announcements within this margin still count, so a refresh in flight does not flap the state. */
const EXPIRY_GRACE_MS = 500;

function typingKey(conversationId: string): string {
  return activityKey('typing', conversationId);
}

function presenceKey(conversationId: string): string {
  return activityKey('presence', conversationId);
}

async function signal(deps: ChatDeps, conversationId: string, message: ActivitySignal): Promise<void> {
  await deps.live
    .publish(activityTopic(conversationId), message)
    .catch((error: unknown) => deps.logger.warn({ err: error, conversationId }, 'activity publish failed'));
}

/** The caller starts (or keeps) typing, or stops. Lasts TYPING_TTL_SECONDS unless repeated. */
export async function setTyping(
  deps: ChatDeps,
  principal: Principal,
  input: { conversationId: string; typing: boolean },
): Promise<TypingEvent> {
  const caller = requireScope(principal, 'chat:write');
  const conversationId = parseId(input.conversationId, 'conversationId');
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  if (input.typing) {
    const { expiresAt } = await deps.ephemeral.touch(
      typingKey(conversationId),
      caller.userId,
      deps.settings.typingTtlMs,
    );
    await signal(deps, conversationId, { kind: 'typing', userId: caller.userId, active: true, expiresAt });
  } else if (await deps.ephemeral.remove(typingKey(conversationId), caller.userId)) {
    await signal(deps, conversationId, {
      kind: 'typing',
      userId: caller.userId,
      active: false,
      expiresAt: Date.now(),
    });
  }
  return { conversationId, userId: caller.userId, typing: input.typing };
}

/** The caller is (still) looking at the conversation, or leaves it. Lasts PRESENCE_TTL_SECONDS unless repeated. */
export async function heartbeat(
  deps: ChatDeps,
  principal: Principal,
  input: { conversationId: string; online: boolean },
): Promise<PresenceEvent> {
  const caller = requireScope(principal, 'chat:read');
  const conversationId = parseId(input.conversationId, 'conversationId');
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  if (input.online) {
    const { expiresAt } = await deps.ephemeral.touch(
      presenceKey(conversationId),
      caller.userId,
      deps.settings.presenceTtlMs,
    );
    await signal(deps, conversationId, { kind: 'presence', userId: caller.userId, active: true, expiresAt });
    return { conversationId, userId: caller.userId, online: true, expiresAt: new Date(expiresAt) };
  }
  if (await deps.ephemeral.remove(presenceKey(conversationId), caller.userId)) {
    await signal(deps, conversationId, {
      kind: 'presence',
      userId: caller.userId,
      active: false,
      expiresAt: Date.now(),
    });
  }
  return { conversationId, userId: caller.userId, online: false, expiresAt: null };
}

/** Which ephemeral state of which conversation: `typing:<id>` or `presence:<id>`, as the loader's key. */
export type ActivityKey = `${'typing' | 'presence'}:${string}`;

/** The loader key of `kind` in `conversationId`. */
export function activityKey(kind: 'typing' | 'presence', conversationId: string): ActivityKey {
  return kind === 'typing' ? `typing:${conversationId}` : `presence:${conversationId}`;
}

/** One warning per minute while the ephemeral store is unreachable, however many requests fall back. */
const unavailableLog = new LogThrottle(60_000);

/**
 * User ids typing in, or online in, each conversation right now, for a whole list at once (the loader behind
 * `typingUsers` and `onlineUsers`: one round trip per request, not one per conversation). The state is
 * ephemeral and best effort: while the store (Redis) is unreachable every list is empty and a warning is
 * logged (rate-limited), rather than failing the conversations they belong to (ADR 0012).
 */
export async function loadActiveUsers(
  deps: Pick<ChatDeps, 'ephemeral' | 'logger'>,
  keys: readonly ActivityKey[],
): Promise<string[][]> {
  try {
    // An ActivityKey is the EphemeralSet key itself (typingKey / presenceKey).
    const lists = await deps.ephemeral.membersOfMany(keys);
    return lists.map((members) => members.map((member) => member.member).sort());
  } catch (error) {
    warnUnavailable(deps, error, keys.length);
    return keys.map(() => []);
  }
}

function warnUnavailable(deps: Pick<ChatDeps, 'logger'>, error: unknown, keys: number): void {
  const pass = unavailableLog.take('members');
  if (pass) {
    deps.logger.warn(
      { err: error, keys, suppressed: pass.suppressed },
      'typing and presence unavailable (ephemeral store unreachable); answering empty lists',
    );
  }
}

/**
 * One subscriber's view of an ephemeral state: who is active and until when. Emits a transition when someone
 * becomes active, stops explicitly, or lapses (a timer at their expiry, unless a later announcement extended it).
 */
async function activityStream<T>(
  deps: ChatDeps,
  conversationId: string,
  kind: 'typing' | 'presence',
  options: { exclude?: string; toEvent: (userId: string, active: boolean, expiresAt: number | null) => T },
): Promise<AsyncIterableIterator<T>> {
  const active = new Map<string, { expiresAt: number; timer: NodeJS.Timeout }>();
  const queue = new AsyncQueue<T>({
    capacity: 1_000,
    onClose: async () => {
      for (const entry of active.values()) clearTimeout(entry.timer);
      active.clear();
      await (await subscription).close();
    },
  });
  const lapse = (userId: string): void => {
    active.delete(userId);
    queue.push(options.toEvent(userId, false, null));
  };
  const apply = (userId: string, isActive: boolean, expiresAt: number): void => {
    if (queue.closed || userId === options.exclude) return;
    const current = active.get(userId);
    if (!isActive) {
      if (!current) return;
      clearTimeout(current.timer);
      lapse(userId);
      return;
    }
    if (current) {
      if (expiresAt <= current.expiresAt) return;
      clearTimeout(current.timer);
    }
    const timer = setTimeout(() => lapse(userId), Math.max(0, expiresAt - Date.now()) + EXPIRY_GRACE_MS);
    timer.unref();
    active.set(userId, { expiresAt, timer });
    if (!current) queue.push(options.toEvent(userId, true, expiresAt));
  };
  // Follow announcements first, then read the current state: nothing that happens in between is missed.
  const subscription: Promise<LiveSubscription> = deps.live.subscribe(
    activityTopic(conversationId),
    (value) => {
      const message = value as Partial<ActivitySignal> | null;
      if (message?.kind === kind && typeof message.userId === 'string')
        apply(message.userId, message.active === true, Number(message.expiresAt));
    },
  );
  await subscription;
  // Who is active now; unknown while the store is unreachable, so the stream starts empty (ADR 0012).
  const [members = []] = await deps.ephemeral
    .membersOfMany([kind === 'typing' ? typingKey(conversationId) : presenceKey(conversationId)])
    .catch((error: unknown) => {
      warnUnavailable(deps, error, 1);
      return [[]];
    });
  for (const member of members) apply(member.member, true, member.expiresAt);
  return queue;
}

/** `typing`: who starts and stops typing in a conversation (the subscriber excluded), starting with who types now. */
export async function typingStream(
  deps: ChatDeps,
  principal: Principal,
  args: { conversationId: string },
): Promise<AsyncIterableIterator<TypingEvent>> {
  const caller = requireScope(principal, 'chat:read');
  const conversationId = parseId(args.conversationId, 'conversationId');
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  return activityStream(deps, conversationId, 'typing', {
    exclude: caller.userId,
    toEvent: (userId, typing) => ({ conversationId, userId, typing }),
  });
}

/** `presence`: who comes online and goes offline in a conversation, starting with who is online now. */
export async function presenceStream(
  deps: ChatDeps,
  principal: Principal,
  args: { conversationId: string },
): Promise<AsyncIterableIterator<PresenceEvent>> {
  const caller = requireScope(principal, 'chat:read');
  const conversationId = parseId(args.conversationId, 'conversationId');
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  return activityStream(deps, conversationId, 'presence', {
    toEvent: (userId, online, expiresAt) => ({
      conversationId,
      userId,
      online,
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
    }),
  });
}
