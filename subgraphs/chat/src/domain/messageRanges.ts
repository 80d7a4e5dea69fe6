import type { PrismaClient } from '../generated/prisma/client.js';
import type { ChatDeps } from './deps.js';
import { listMessages, loadMessageViews, type MessagePage, type MessageRange } from './messages.js';
import { toMessageViews, type MessageView } from './views.js';

/** Ranges that differ only by conversation share one statement; this is what they share. */
function shapeOf(range: MessageRange): string {
  return `${range.afterSeq ?? ''}|${range.beforeSeq ?? ''}|${range.order}|${range.limit}`;
}

/** DataLoader cache key of a range. */
export function messageRangeKey(range: MessageRange): string {
  return `${range.conversationId}|${shapeOf(range)}`;
}

/**
 * Loads many conversations' message ranges with their attachments in three statements per distinct range
 * shape (a list of conversations asking for the same page is one shape), however many conversations there are:
 * the ids of each conversation's top `limit` messages (a window function), those messages, their attachments.
 * A shape asked for one conversation only takes two (its messages with LIMIT, their attachments).
 */
export async function loadMessageRanges(
  prisma: PrismaClient,
  ranges: readonly MessageRange[],
): Promise<MessageView[][]> {
  const groups = new Map<string, MessageRange[]>();
  for (const range of ranges) {
    const group = groups.get(shapeOf(range));
    if (group) group.push(range);
    else groups.set(shapeOf(range), [range]);
  }
  const byKey = new Map<string, MessageView[]>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const { afterSeq, beforeSeq, order, limit } = group[0]!;
      const conversationIds = [...new Set(group.map((range) => range.conversationId))];
      const key = (conversationId: string): string => `${conversationId}|${shapeOf(group[0]!)}`;
      if (conversationIds.length === 1) {
        // One conversation (`conversation(id) { messages }`): a plain LIMIT query, no ranking needed.
        const range = { afterSeq, beforeSeq, order, limit };
        byKey.set(key(conversationIds[0]!), await loadMessageViews(prisma, conversationIds[0]!, range));
        return;
      }
      // Parameters only; the order keyword comes from the closed 'asc' | 'desc' union.
      const direction = order === 'asc' ? 'ASC' : 'DESC';
      const ranked = await prisma.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT "id" FROM (
           SELECT "id", row_number() OVER (PARTITION BY "conversation_id" ORDER BY "seq" ${direction}) AS "rank"
           FROM "chat"."messages"
           WHERE "conversation_id" = ANY($1::uuid[])
             AND ($2::int IS NULL OR "seq" > $2::int)
             AND ($3::int IS NULL OR "seq" < $3::int)
         ) AS ranked
         WHERE "rank" <= $4::int`,
        conversationIds,
        afterSeq ?? null,
        beforeSeq ?? null,
        limit,
      );
      const ids = ranked.map((row) => row.id);
      const [messages, attachments] =
        ids.length === 0
          ? [[], []]
          : await Promise.all([
              prisma.message.findMany({ where: { id: { in: ids } }, orderBy: { seq: order } }),
              prisma.attachment.findMany({ where: { messageId: { in: ids }, status: 'READY' } }),
            ]);
      const views = toMessageViews(messages, attachments);
      for (const conversationId of conversationIds) byKey.set(key(conversationId), []);
      for (const view of views) byKey.get(key(view.conversationId))?.push(view);
    }),
  );
  return ranges.map((range) => byKey.get(messageRangeKey(range)) ?? []);
}

/** One `Conversation.messages` read: the conversation and its connection arguments. */
export interface MessagePageRequest {
  conversationId: string;
  args: { first?: number | null; after?: string | null; last?: number | null; before?: string | null };
}

/** DataLoader cache key of a page request. */
export function messagePageKey(request: MessagePageRequest): string {
  const { first, after, last, before } = request.args;
  return JSON.stringify([request.conversationId, first ?? null, after ?? null, last ?? null, before ?? null]);
}

/**
 * Lists the message pages of many conversations with one database batch: each page first tries the recent-message
 * cache (its own round trips), and the ranges that missed are loaded together by {@link loadMessageRanges} once
 * every page has either asked for its range or finished without one. Waiting for all of them (rather than for the
 * next tick) is what keeps the batch whole when cache answers arrive at different times.
 */
export async function listMessagePages(
  deps: ChatDeps,
  requests: readonly MessagePageRequest[],
): Promise<Array<MessagePage | Error>> {
  const asked: Array<{
    range: MessageRange;
    resolve: (views: MessageView[]) => void;
    reject: (error: unknown) => void;
  }> = [];
  let unsettled = requests.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = (): void => {
    unsettled -= 1;
    if (unsettled === 0) allSettled();
  };
  const batch = settled.then(async () => {
    if (asked.length === 0) return;
    try {
      const loaded = await loadMessageRanges(
        deps.prisma,
        asked.map((entry) => entry.range),
      );
      asked.forEach((entry, index) => entry.resolve(loaded[index]!));
    } catch (error) {
      for (const entry of asked) entry.reject(error);
    }
  });
  const pages = requests.map(async (request) => {
    let askedForRange = false;
    try {
      return await listMessages(deps, request.conversationId, request.args, (range) => {
        // listMessages reads at most one range; a second one would only wait for the batch it already is in.
        if (askedForRange) return loadMessageViews(deps.prisma, request.conversationId, range);
        askedForRange = true;
        const views = new Promise<MessageView[]>((resolve, reject) =>
          asked.push({ range: { conversationId: request.conversationId, ...range }, resolve, reject }),
        );
        settle();
        return views;
      });
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      if (!askedForRange) settle();
    }
  });
  const results = await Promise.all(pages);
  await batch;
  return results;
}
