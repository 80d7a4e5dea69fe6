import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import {
  assertForwardOnly,
  createCursorCodec,
  cursorPart,
  pageSize,
  resolvePageSize,
} from '@cap/runtime/kit';
import { Prisma } from '../generated/prisma/client.js';
import { requireScope } from './authorization.js';
import { assertParticipant } from './conversations.js';
import type { ChatDeps } from './deps.js';
import { parseId, parseSearchQuery } from './validation.js';

/** Search hits per page: 20 by default, 50 at most. */
export const SEARCH_PAGE = pageSize({ default: 20, max: 50 });
/** Deepest offset a search pages to; beyond it, refine the query. */
export const SEARCH_MAX_OFFSET = 1_000;

/** One ranked match. */
export interface SearchHit {
  messageId: string;
  conversationId: string;
  /** `ts_rank` of the message against the query. */
  rank: number;
  /** HTML-escaped excerpt with matches wrapped in `<mark>…</mark>`. */
  snippet: string;
  /** Offset of the hit in the result list (its cursor). */
  offset: number;
}

// Ranking has no stable keyset: a search cursor is the hit's offset in the ranked result.
const searchCursor = createCursorCodec<number>({
  kind: 'search',
  expected: 'a cursor from this connection',
  toParts: (offset) => [offset],
  fromParts: ([offset, ...rest]) => (rest.length === 0 ? cursorPart.integer(offset, 0, 999_999) : null),
});

/** Opaque search cursor: an offset into the ranked result. */
export function encodeSearchCursor(offset: number): string {
  return searchCursor.encode(offset);
}

/**
 * Full-text search over the messages of the caller's conversations (or one of them), best match first.
 *
 * The query is user text and goes through `websearch_to_tsquery` (quotes, `or`, `-` work as on a search
 * engine; tsquery operators such as `&|!:*()` are just text), never `to_tsquery`. Matching uses the GIN index
 * on `messages.search`; `ts_headline` runs only on the returned page, over the HTML-escaped body, so snippets
 * are safe to render as HTML.
 */
export async function searchMessages(
  deps: ChatDeps,
  principal: Principal,
  args: {
    query: string;
    conversationId?: string | null | undefined;
    first?: number | null | undefined;
    after?: string | null | undefined;
    last?: number | null | undefined;
    before?: string | null | undefined;
  },
): Promise<{ hits: SearchHit[]; hasNextPage: boolean }> {
  const caller = requireScope(principal, 'chat:read');
  assertForwardOnly(args);
  const query = parseSearchQuery(args.query);
  const first = resolvePageSize(args, SEARCH_PAGE);
  const offset = args.after ? searchCursor.decode(args.after) + 1 : 0;
  if (offset > SEARCH_MAX_OFFSET) {
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      `Search pages end after ${SEARCH_MAX_OFFSET} results; refine the query.`,
      {
        field: 'after',
        expected: `an offset below ${SEARCH_MAX_OFFSET}`,
      },
    );
  }
  const conversationId = args.conversationId ? parseId(args.conversationId, 'conversationId') : null;
  if (conversationId) await assertParticipant(deps.prisma, caller.userId, conversationId);
  const inConversation = conversationId
    ? Prisma.sql`AND m."conversation_id" = ${conversationId}::uuid`
    : Prisma.empty;
  const rows = await deps.prisma.$queryRaw<
    Array<{ id: string; conversation_id: string; rank: number; snippet: string }>
  >`
    WITH q AS (SELECT websearch_to_tsquery('pg_catalog.english'::regconfig, ${query}) AS query),
    page AS (
      SELECT m."id", m."conversation_id", m."body", m."created_at", ts_rank(m."search", q.query) AS rank
      FROM "chat"."messages" m
      JOIN "chat"."participants" p ON p."conversation_id" = m."conversation_id" AND p."user_id" = ${caller.userId}::uuid
      CROSS JOIN q
      WHERE numnode(q.query) > 0 AND m."search" @@ q.query AND m."deleted_at" IS NULL ${inConversation}
      ORDER BY rank DESC, m."created_at" DESC, m."id"
      LIMIT ${first + 1}::int OFFSET ${offset}::int
    )
    SELECT page."id", page."conversation_id", page.rank,
      ts_headline('pg_catalog.english'::regconfig,
        replace(replace(replace(replace(replace(page."body", '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;'),
        q.query,
        'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15') AS snippet
    FROM page CROSS JOIN q
    ORDER BY page.rank DESC, page."created_at" DESC, page."id"`;
  return {
    hits: rows.slice(0, first).map((row, index) => ({
      messageId: row.id,
      conversationId: row.conversation_id,
      rank: Number(row.rank),
      snippet: row.snippet,
      offset: offset + index,
    })),
    hasNextPage: rows.length > first,
  };
}
