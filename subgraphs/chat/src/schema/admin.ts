import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import type { CacheStats } from '../cache/RecentMessages.js';

const ChatCacheStatsRef = builder.objectRef<CacheStats & { backend: string }>('ChatCacheStats').implement({
  description: 'Recent-message cache counters of the chat instance that answered, since it started.',
  fields: (t) => ({
    backend: t.exposeString('backend', {
      description: '`redis` (shared by every instance) or `memory` (this process only).',
    }),
    hits: t.exposeInt('hits', { description: 'Message pages served from the cache.' }),
    misses: t.exposeInt('misses', { description: 'Message pages read from the database.' }),
    errors: t.exposeInt('errors', { description: 'Cache failures answered from the database instead.' }),
    hitRate: t.float({
      description: 'hits / (hits + misses), 0 when nothing was read yet.',
      resolve: (stats) => (stats.hits + stats.misses === 0 ? 0 : stats.hits / (stats.hits + stats.misses)),
    }),
  }),
});

builder.queryFields((t) => ({
  chatCacheStats: t.field({
    type: ChatCacheStatsRef,
    description: 'Hit rate of the recent-message cache (admins only).',
    directives: policyDirectives.requiresScopes('users:manage'),
    resolve: (_root, _args, ctx) => {
      return { backend: ctx.deps.recent.kind, ...ctx.deps.recent.stats() };
    },
  }),
}));
