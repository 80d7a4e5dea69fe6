import { policyDirectives, SCOPES } from '@cap/runtime';
import { builder } from '../builder.js';
import { requireAuthenticated } from '../domain/authorization.js';
import { createApiKey, MAX_ACTIVE_KEYS_PER_USER, revokeApiKey } from '../domain/apiKeys.js';
import type { ApiKey } from '../generated/prisma/client.js';
import { ApiKeyTierEnum } from './enums.js';
import { NodeRef } from './nodeInterface.js';
import { ApiKeyRef, UserRef } from './refs.js';

ApiKeyRef.implement({
  description:
    'A credential for programs. Its secret is shown once, at creation; only its prefix is kept readable.',
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    name: t.exposeString('name', { description: 'Label chosen by the owner.' }),
    prefix: t.exposeString('prefix', {
      description: 'Public part of the key (`cap_<prefix>_…`), to recognise it.',
    }),
    scopes: t.exposeStringList('scopes', { description: 'Scopes the key was created with.' }),
    tier: t.field({ type: ApiKeyTierEnum, description: 'Rate-limit tier.', resolve: (key) => key.tier }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Last use, to the minute.',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key stops working.',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was revoked.',
    }),
    owner: t.field({
      type: UserRef,
      description: 'The user the key acts as.',
      resolve: async (key, _args, ctx) => {
        const owner = await ctx.loaders.user.load(key.ownerId);
        if (!owner) throw new Error(`API key ${key.id} has no owner`);
        return owner;
      },
    }),
  }),
});

const ScopeInfoRef = builder.objectRef<{ name: string; description: string }>('ScopeInfo').implement({
  description: 'A permission that roles grant and API keys carry.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Scope name, e.g. `tasks:write`.' }),
    description: t.exposeString('description', { description: 'What the scope allows.' }),
  }),
});

const CreateApiKeyPayload = builder
  .objectRef<{ apiKey: ApiKey; secret: string }>('CreateApiKeyPayload')
  .implement({
    description: 'A new API key and its secret. The secret is never shown again.',
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (payload) => payload.apiKey }),
      secret: t.exposeString('secret', {
        description: 'Send as `Authorization: Bearer <secret>` or `X-API-Key`.',
      }),
    }),
  });

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key for the signed-in user.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Label, 1-100 characters.' }),
    scopes: t.stringList({ required: true, description: 'Scopes, each one the owner holds (see `scopes`).' }),
    tier: t.field({
      type: ApiKeyTierEnum,
      required: false,
      description: 'Defaults to FREE; higher tiers need ADMIN.',
    }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'Optional expiry, in the future.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    description: "The signed-in user's API keys, newest first.",
    directives: {
      ...policyDirectives.authenticated(),
      ...policyDirectives.listSize(MAX_ACTIVE_KEYS_PER_USER),
    },
    args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Include revoked keys.' }) },
    resolve: (_root, args, ctx) => {
      const principal = requireAuthenticated(ctx.principal);
      return ctx.loaders.apiKeysOfOwner.load({
        ownerId: principal.userId,
        includeRevoked: args.includeRevoked ?? false,
      });
    },
  }),
  scopes: t.field({
    type: [ScopeInfoRef],
    // No @listSize: a short constant list, within the router's default list size (10).
    description: 'Every scope the platform knows.',
    resolve: () => Object.entries(SCOPES).map(([name, description]) => ({ name, description })),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    description:
      'Creates an API key for the signed-in user (not with an API key); returns its secret once. Throttled per client address.',
    // API keys cannot create API keys: only interactive sessions may (`session:interactive`).
    directives: {
      ...policyDirectives.requiresScopes('apikeys:manage'),
      ...policyDirectives.policy('session:interactive'),
    },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createApiKey(ctx.deps, ctx.principal, input, {
        clientIp: ctx.clientIp,
        userAgent: ctx.userAgent,
        requestId: ctx.requestId,
      }),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description:
      'Revokes an API key (its owner or an admin). Within seconds the router refuses it and closes its subscriptions.',
    directives: policyDirectives.requiresScopes('apikeys:manage'),
    args: { id: t.arg.id({ required: true, description: 'The key to revoke.' }) },
    resolve: (_root, args, ctx) =>
      revokeApiKey(ctx.deps, ctx.principal, { id: String(args.id) }, ctx.requestId),
  }),
}));
