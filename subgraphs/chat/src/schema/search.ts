import { policyDirectives } from '@cap/runtime';
import { connectionPage } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { encodeSearchCursor, searchMessages, SEARCH_PAGE, type SearchHit } from '../domain/search.js';
import { MessageRef } from './refs.js';

/** `@cost` of `searchMessages` itself (ranking and snippets), before its hits. */
const SEARCH_COST = 20;

const MessageSearchHitRef = builder.objectRef<SearchHit>('MessageSearchHit').implement({
  description: 'A message matching a search, with its rank and a highlighted excerpt.',
  fields: (t) => ({
    message: t.field({
      type: MessageRef,
      description: 'The matching message.',
      resolve: async (hit, _args, ctx) => {
        const message = await ctx.loaders.message.load(hit.messageId);
        if (!message) throw new Error(`search hit ${hit.messageId} vanished`);
        return message;
      },
    }),
    rank: t.exposeFloat('rank', { description: 'Relevance (PostgreSQL `ts_rank`); higher is better.' }),
    snippet: t.exposeString('snippet', {
      description:
        'Excerpt of the body, HTML-escaped, with matching words wrapped in `<mark>…</mark>`: safe to render as HTML.',
    }),
  }),
});

builder.queryFields((t) => ({
  searchMessages: t.connection(
    {
      type: MessageSearchHitRef,
      description:
        `Full-text search over the messages of your conversations, best match first (${SEARCH_PAGE.default} per page by default, ` +
        `${SEARCH_PAGE.max} at most). Web-search syntax: words, "quoted phrases", \`or\`, \`-excluded\`.`,
      // A ranked full-text query over every conversation of the caller: far dearer than reading one page.
      directives: {
        ...policyDirectives.requiresScopes('chat:read'),
        ...policyDirectives.cost(SEARCH_COST),
        ...policyDirectives.connectionSize(SEARCH_PAGE.default),
      },
      args: {
        query: t.arg.string({ required: true, description: 'What to look for, 1-256 characters.' }),
        conversationId: t.arg.id({
          required: false,
          description: 'Only this conversation (you must take part in it).',
        }),
      },
      resolve: async (_root, args, ctx) => {
        const result = await searchMessages(ctx.deps, ctx.principal, {
          query: args.query,
          conversationId: args.conversationId ? String(args.conversationId) : null,
          first: args.first,
          after: args.after,
          last: args.last,
          before: args.before,
        });
        return connectionPage(result.hits, {
          hasNextPage: result.hasNextPage,
          after: args.after,
          cursor: (hit) => encodeSearchCursor(hit.offset),
        });
      },
    },
    { name: 'MessageSearchConnection', description: 'A page of search hits.' },
    { name: 'MessageSearchEdge', description: 'A search hit in a page.' },
  ),
}));
