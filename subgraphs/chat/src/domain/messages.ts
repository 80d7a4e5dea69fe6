import { ChatMessageDeleted, ChatMessageEdited, ChatMessagePosted } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import { inTransaction, pageSize, resolvePageSize } from '@cap/runtime/kit';
import type { MessageEdit, PrismaClient } from '../generated/prisma/client.js';
import { messagesTopic } from '../live/liveTopics.js';
import { conversationNotVisible, requireScope } from './authorization.js';
import { metadata } from './conversations.js';
import { type ChatDeps, type Tx } from './deps.js';
import {
  decodeMessageCursor,
  MAX_ATTACHMENTS_PER_MESSAGE,
  parseBody,
  parseId,
  parseIds,
} from './validation.js';
import { toMessageView, toMessageViews, type MessageView } from './views.js';

/** Relay page size of message lists: the kit's default, 50, which is also the maximum. */
export const MESSAGES_PAGE = pageSize({ max: 50 });

// A range lives here, not in messageRanges.ts (which batches ranges on top of `listMessages`), so the two do not import each other.
/** One conversation's slice of messages: above `afterSeq` and/or below `beforeSeq`, in `order`, at most `limit`. */
export interface MessageRange {
  conversationId: string;
  afterSeq?: number | undefined;
  beforeSeq?: number | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

/** What the live bus carries on a conversation's messages topic. */
export interface MessageEvent {
  type: 'posted' | 'updated';
  message: MessageView;
}

/** Messages of one conversation by seq range, with attachments: two statements. */
export async function loadMessageViews(
  prisma: PrismaClient | Tx,
  conversationId: string,
  range: { afterSeq?: number; beforeSeq?: number; order: 'asc' | 'desc'; limit: number },
): Promise<MessageView[]> {
  const messages = await prisma.message.findMany({
    where: {
      conversationId,
      ...(range.afterSeq !== undefined || range.beforeSeq !== undefined
        ? {
            seq: {
              ...(range.afterSeq !== undefined ? { gt: range.afterSeq } : {}),
              ...(range.beforeSeq !== undefined ? { lt: range.beforeSeq } : {}),
            },
          }
        : {}),
    },
    orderBy: { seq: range.order },
    take: range.limit,
  });
  if (messages.length === 0) return [];
  const attachments = await prisma.attachment.findMany({
    where: { messageId: { in: messages.map((message) => message.id) }, status: 'READY' },
  });
  return toMessageViews(messages, attachments);
}

/** Messages by id (any conversation) with attachments, in two statements; null for unknown ids. */
export async function loadMessageViewsById(
  prisma: PrismaClient,
  ids: readonly string[],
): Promise<Array<MessageView | null>> {
  const unique = [...new Set(ids)];
  const [messages, attachments] = await Promise.all([
    prisma.message.findMany({ where: { id: { in: unique } } }),
    prisma.attachment.findMany({ where: { messageId: { in: unique }, status: 'READY' } }),
  ]);
  const views = new Map(toMessageViews(messages, attachments).map((view) => [view.id, view]));
  return ids.map((id) => views.get(id) ?? null);
}

/** Edit history of many messages in one statement, oldest first within each. */
export async function loadMessageEdits(
  prisma: PrismaClient,
  messageIds: readonly string[],
): Promise<MessageEdit[][]> {
  const rows = await prisma.messageEdit.findMany({
    where: { messageId: { in: [...new Set(messageIds)] } },
    orderBy: [{ editedAt: 'asc' }, { id: 'asc' }],
  });
  const byMessage = new Map<string, MessageEdit[]>();
  for (const row of rows) {
    const list = byMessage.get(row.messageId) ?? [];
    list.push(row);
    byMessage.set(row.messageId, list);
  }
  return messageIds.map((id) => byMessage.get(id) ?? []);
}

/** One page of a message connection. */
export interface MessagePage {
  messages: MessageView[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * A page of a conversation's messages, newest first (the caller's access was checked by whoever resolved the
 * conversation). `first`/`after` page towards older messages and are served by the recent-message cache when
 * its window holds the page; `last`/`before` page towards newer ones, from the database. `load` reads a range from
 * the database: pass a batch loader's (see `loadMessageRanges`) when listing many conversations' messages.
 */
export async function listMessages(
  deps: ChatDeps,
  conversationId: string,
  args: { first?: number | null; after?: string | null; last?: number | null; before?: string | null },
  load: (range: Omit<MessageRange, 'conversationId'>) => Promise<MessageView[]> = (range) =>
    loadMessageViews(deps.prisma, conversationId, range),
): Promise<MessagePage> {
  if ((args.first != null || args.after != null) && (args.last != null || args.before != null)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Page with first/after or with last/before, not both.', {
      field: 'last',
      expected: 'first/after or last/before',
    });
  }
  if (args.last != null || args.before != null) {
    const last = resolvePageSize({ last: args.last }, MESSAGES_PAGE);
    const beforeSeq = args.before != null ? decodeMessageCursor(args.before, 'before') : undefined;
    const newer = await load({ afterSeq: beforeSeq ?? 0, order: 'asc', limit: last + 1 });
    return {
      messages: newer.slice(0, last).reverse(),
      hasPreviousPage: newer.length > last,
      hasNextPage: beforeSeq !== undefined,
    };
  }
  const first = resolvePageSize({ first: args.first }, MESSAGES_PAGE);
  const beforeSeq = args.after != null ? decodeMessageCursor(args.after, 'after') : undefined;
  const page = await deps.recent.page(conversationId, { beforeSeq, limit: first + 1 }, (options) =>
    load({
      ...(options.beforeSeq !== undefined ? { beforeSeq: options.beforeSeq } : {}),
      order: 'desc',
      limit: options.limit,
    }),
  );
  return {
    messages: page.slice(0, first),
    hasNextPage: page.length > first,
    hasPreviousPage: beforeSeq !== undefined,
  };
}

/** A new message. */
export interface PostMessageInput {
  conversationId: string;
  /** Markdown. */
  body: string;
  /** Uploaded (READY) attachments of the caller in this conversation, attached in the same transaction. */
  attachmentIds?: readonly string[] | null | undefined;
}

/**
 * Posts a message as the caller. The conversation row is locked while its `lastSeq` is incremented, so seqs
 * are gap-free and commit in order: a subscriber that sees seq n can rely on every seq below n being readable.
 * The message, its attachments and ChatMessagePosted commit together; cache and live subscribers follow.
 */
export async function postMessage(
  deps: ChatDeps,
  principal: Principal,
  input: PostMessageInput,
  requestId?: string,
): Promise<MessageView> {
  const caller = requireScope(principal, 'chat:write');
  const conversationId = parseId(input.conversationId, 'conversationId');
  const body = parseBody(input.body, deps.settings.messageMaxBytes);
  const attachmentIds = parseIds(input.attachmentIds ?? [], 'attachmentIds', MAX_ATTACHMENTS_PER_MESSAGE);
  const view = await inTransaction(deps, async ({ tx }) => {
    const locked = await tx.$queryRaw<Array<{ last_seq: number; agents: string[] | null; users: number }>>`
      UPDATE "chat"."conversations" AS c
      SET "last_seq" = c."last_seq" + 1, "last_activity_at" = now()
      WHERE c."id" = ${conversationId}::uuid
        AND EXISTS (SELECT 1 FROM "chat"."participants" p WHERE p."conversation_id" = c."id" AND p."user_id" = ${caller.userId}::uuid)
      RETURNING c."last_seq",
        (SELECT array_agg(p."agent_id" ORDER BY p."agent_id") FROM "chat"."participants" p
          WHERE p."conversation_id" = c."id" AND p."kind" = 'AGENT') AS agents,
        (SELECT count(*)::int FROM "chat"."participants" p
          WHERE p."conversation_id" = c."id" AND p."kind" = 'USER') AS users`;
    const row = locked[0];
    if (!row) {
      const exists = (await tx.conversation.count({ where: { id: conversationId } })) > 0;
      throw conversationNotVisible(conversationId, exists);
    }
    const message = await tx.message.create({
      data: { conversationId, seq: row.last_seq, authorKind: 'USER', authorUserId: caller.userId, body },
    });
    const attachments =
      attachmentIds.length > 0
        ? await claimAttachments(tx, message.id, conversationId, caller.userId, attachmentIds)
        : [];
    await deps.events.record(tx, [
      ChatMessagePosted.create(
        {
          conversationId,
          messageId: message.id,
          seq: message.seq,
          author: { kind: 'USER', userId: caller.userId },
          body,
          attachmentIds: attachments.map((attachment) => attachment.id),
          agentParticipantIds: row.agents ?? [],
          userParticipantCount: row.users,
          // The agent acts for the author with exactly these rights (README "The agent in chat").
          authorRights: { role: caller.role, scopes: [...caller.scopes] },
        },
        { source: 'chat', aggregateId: conversationId, metadata: metadata(caller, requestId) },
      ),
    ]);
    return toMessageView(message, attachments);
  });
  await announce(deps, { type: 'posted', message: view });
  return view;
}

/** Attaches the caller's READY, unattached attachments of the conversation to a message, or refuses them all. */
export async function claimAttachments(
  tx: Tx,
  messageId: string,
  conversationId: string,
  uploaderId: string,
  attachmentIds: readonly string[],
) {
  const claimed = await tx.attachment.updateMany({
    where: { id: { in: [...attachmentIds] }, conversationId, uploaderId, status: 'READY', messageId: null },
    data: { messageId },
  });
  if (claimed.count !== attachmentIds.length) {
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      'Every attachment must be one you uploaded to this conversation, complete and not yet attached.',
      {
        field: 'attachmentIds',
        expected: 'ids of your uploaded, unattached attachments in this conversation',
        received: `${claimed.count} of ${attachmentIds.length} usable`,
      },
    );
  }
  const total = await tx.attachment.count({ where: { messageId } });
  if (total > MAX_ATTACHMENTS_PER_MESSAGE) {
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      `A message holds at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments.`,
      {
        field: 'attachmentIds',
        expected: `at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`,
        received: `${total}`,
      },
    );
  }
  return tx.attachment.findMany({ where: { messageId, status: 'READY' } });
}

interface LockedMessage {
  id: string;
  conversation_id: string;
  seq: number;
  author_user_id: string | null;
  body: string;
  deleted_at: Date | null;
}

/** Locks a message row for a change by its author; NOT_FOUND, FORBIDDEN (not the author) or CONFLICT (deleted). */
export async function lockOwnMessage(
  tx: Tx,
  messageId: string,
  userId: string,
  action: string,
): Promise<LockedMessage> {
  const rows = await tx.$queryRaw<LockedMessage[]>`
    SELECT "id", "conversation_id", "seq", "author_user_id", "body", "deleted_at"
    FROM "chat"."messages" WHERE "id" = ${messageId}::uuid FOR UPDATE`;
  const message = rows[0];
  if (!message) throw codedError(ErrorCode.NOT_FOUND, 'Message not found.', { id: messageId });
  if (message.author_user_id !== userId) {
    throw codedError(ErrorCode.FORBIDDEN, `Only the author may ${action} a message.`, { id: messageId });
  }
  if (message.deleted_at) throw codedError(ErrorCode.CONFLICT, 'The message was deleted.', { id: messageId });
  return message;
}

/** Replaces the body of the caller's message, keeping the previous one in its history. */
export async function editMessage(
  deps: ChatDeps,
  principal: Principal,
  input: { messageId: string; body: string },
  requestId?: string,
): Promise<MessageView> {
  const caller = requireScope(principal, 'chat:write');
  const messageId = parseId(input.messageId, 'messageId');
  const body = parseBody(input.body, deps.settings.messageMaxBytes);
  const result = await inTransaction(deps, async ({ tx }) => {
    const locked = await lockOwnMessage(tx, messageId, caller.userId, 'edit');
    if (locked.body === body) {
      const [unchanged] = await loadMessageViews(tx, locked.conversation_id, {
        afterSeq: locked.seq - 1,
        order: 'asc',
        limit: 1,
      });
      return { view: unchanged!, changed: false };
    }
    await tx.messageEdit.create({
      data: { messageId, previousBody: locked.body, editorUserId: caller.userId },
    });
    const message = await tx.message.update({
      where: { id: messageId },
      data: { body, editedAt: new Date() },
    });
    const attachments = await tx.attachment.findMany({ where: { messageId, status: 'READY' } });
    await deps.events.record(tx, [
      ChatMessageEdited.create(
        {
          conversationId: message.conversationId,
          messageId,
          seq: message.seq,
          editorId: caller.userId,
          body,
        },
        { source: 'chat', aggregateId: message.conversationId, metadata: metadata(caller, requestId) },
      ),
    ]);
    return { view: toMessageView(message, attachments), changed: true };
  });
  if (result.changed) await announce(deps, { type: 'updated', message: result.view });
  return result.view;
}

/**
 * Deletes the caller's message: its body, history and attachments go; a tombstone keeps its seq so cursors and
 * replays stay gap-free. Deleting twice is a no-op.
 */
export async function deleteMessage(
  deps: ChatDeps,
  principal: Principal,
  input: { messageId: string },
  requestId?: string,
): Promise<MessageView> {
  const caller = requireScope(principal, 'chat:write');
  const messageId = parseId(input.messageId, 'messageId');
  const result = await inTransaction(deps, async ({ tx }) => {
    const existing = await tx.message.findUnique({ where: { id: messageId } });
    if (existing?.deletedAt && existing.authorUserId === caller.userId) {
      return { view: toMessageView(existing, []), removed: [] as string[], changed: false };
    }
    await lockOwnMessage(tx, messageId, caller.userId, 'delete');
    const attachments = await tx.attachment.findMany({ where: { messageId }, select: { id: true } });
    await tx.attachment.deleteMany({ where: { messageId } });
    await tx.messageEdit.deleteMany({ where: { messageId } });
    const message = await tx.message.update({
      where: { id: messageId },
      data: { body: '', deletedAt: new Date() },
    });
    await deps.events.record(tx, [
      ChatMessageDeleted.create(
        { conversationId: message.conversationId, messageId, seq: message.seq, deletedById: caller.userId },
        { source: 'chat', aggregateId: message.conversationId, metadata: metadata(caller, requestId) },
      ),
    ]);
    return {
      view: toMessageView(message, []),
      removed: attachments.map((attachment) => attachment.id),
      changed: true,
    };
  });
  for (const id of result.removed) {
    await deps.storage
      .delete(id)
      .catch((error: unknown) =>
        deps.logger.warn({ err: error, attachmentId: id }, 'could not delete attachment bytes'),
      );
  }
  if (result.changed) await announce(deps, { type: 'updated', message: result.view });
  return result.view;
}

/**
 * After a change committed: update the recent-message cache, then tell live subscribers. Neither may fail the
 * request that made the change (it is stored); subscribers that miss the hint catch up from the database.
 */
export async function announce(deps: ChatDeps, event: MessageEvent): Promise<void> {
  await deps.recent.apply(event.message);
  await deps.live
    .publish(messagesTopic(event.message.conversationId), event)
    .catch((error: unknown) =>
      deps.logger.warn({ err: error, conversationId: event.message.conversationId }, 'live publish failed'),
    );
}
