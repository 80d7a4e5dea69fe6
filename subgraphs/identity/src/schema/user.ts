import { codedError, ErrorCode, policyDirectives } from '@cap/runtime';
import { resolvePageSize } from '@cap/runtime/kit';
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { MAX_ACTIVE_KEYS_PER_USER } from '../domain/apiKeys.js';
import { PASSWORD_HASH_COST } from '../domain/passwords.js';
import { canReadUser, changeUserRole, createUser, deactivateUser } from '../domain/users.js';
import { encodeUserCursor, findUserPage, USERS_PAGE } from '../domain/userQueries.js';
import { parseId } from '../domain/validation.js';
import type { User } from '../generated/prisma/client.js';
import { RoleEnum } from './enums.js';
import { NodeRef } from './nodeInterface.js';
import { ApiKeyRef, UserRef } from './refs.js';

UserRef.implement({
  description: 'A person who uses the platform.',
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    email: t.string({
      nullable: true,
      description: 'Login email. Visible to the user themselves and to admins; null for everyone else.',
      resolve: (user, _args, ctx) => (canReadUser(ctx.principal, user.id) ? user.email : null),
    }),
    displayName: t.exposeString('displayName', { description: 'Name shown to other users.' }),
    role: t.field({ type: RoleEnum, description: 'What the user may do.', resolve: (user) => user.role }),
    active: t.exposeBoolean('active', { description: 'False once an admin deactivated the user.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created.' }),
    apiKeys: t.field({
      type: [ApiKeyRef],
      description:
        "The user's API keys, newest first. Visible to the user and to admins; needs `apikeys:manage`.",
      directives: {
        ...policyDirectives.requiresScopes('apikeys:manage'),
        ...policyDirectives.listSize(MAX_ACTIVE_KEYS_PER_USER),
      },
      args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Include revoked keys.' }) },
      resolve: async (user, args, ctx) => {
        if (!canReadUser(ctx.principal, user.id)) return [];
        return ctx.loaders.apiKeysOfOwner.load({
          ownerId: user.id,
          includeRevoked: args.includeRevoked ?? false,
        });
      },
    }),
  }),
});

builder.asEntity(UserRef, {
  key: builder.selection<{ id: string }>('id'),
  // Other subgraphs reference users (authors, creators): any authenticated caller may resolve the public fields.
  resolveReference: (reference, ctx) =>
    ctx.principal.kind === 'anonymous' ? null : ctx.loaders.user.load(reference.id),
});

builder.queryFields((t) => ({
  me: t.field({
    type: UserRef,
    nullable: true,
    description: 'The signed-in user, or null for anonymous callers.',
    resolve: (_root, _args, ctx) =>
      ctx.principal.kind === 'anonymous' ? null : ctx.loaders.user.load(ctx.principal.userId),
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: 'A user by id: yourself, or anyone for admins.',
    directives: policyDirectives.authenticated(),
    args: { id: t.arg.id({ required: true, description: 'The user id.' }) },
    resolve: async (_root, args, ctx) => {
      const id = parseId(String(args.id));
      if (!canReadUser(ctx.principal, id)) {
        if (ctx.principal.kind === 'anonymous')
          throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
        throw codedError(ErrorCode.FORBIDDEN, 'You can read only your own user.', {
          requiredScope: 'users:manage',
        });
      }
      return ctx.loaders.user.load(id);
    },
  }),
  users: t.connection({
    type: UserRef,
    description: `All users, newest first (admins only); pages of ${USERS_PAGE.default} (at most ${USERS_PAGE.max}).`,
    directives: {
      ...policyDirectives.requiresScopes('users:manage'),
      ...policyDirectives.connectionSize(USERS_PAGE.default),
    },
    args: {
      role: t.arg({ type: RoleEnum, required: false, description: 'Only users with this role.' }),
    },
    resolve: (_root, args, ctx) => {
      resolvePageSize(args, USERS_PAGE);
      return resolveCursorConnection(
        {
          args,
          defaultSize: USERS_PAGE.default,
          maxSize: USERS_PAGE.max,
          toCursor: (user: User) => encodeUserCursor(user),
        },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
          findUserPage(ctx.deps.prisma, { role: args.role, after, before, limit, inverted }),
      );
    },
  }),
}));

const CreateUserInput = builder.inputType('CreateUserInput', {
  description: 'A new user.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'Login email; stored lower-cased.' }),
    password: t.string({ required: true, description: 'Initial password, 12-1024 characters.' }),
    displayName: t.string({ required: true, description: 'Name shown to other users, 1-100 characters.' }),
    role: t.field({ type: RoleEnum, required: true, description: 'What the user may do.' }),
  }),
});

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description: 'Creates a user (admins only).',
    // Hashing the password (scrypt, 32 MiB) is the expensive part.
    directives: {
      ...policyDirectives.requiresScopes('users:manage'),
      ...policyDirectives.cost(PASSWORD_HASH_COST),
    },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_root, { input }, ctx) => createUser(ctx.deps, ctx.principal, input, ctx.requestId),
  }),
  changeUserRole: t.field({
    type: UserRef,
    description:
      "Changes a user's role (admins only). Their API keys lose scopes the new role lacks; within seconds their access tokens are refused (refresh the session for the new role) and their subscriptions closed.",
    directives: policyDirectives.requiresScopes('users:manage'),
    args: {
      userId: t.arg.id({ required: true, description: 'The user to change.' }),
      role: t.arg({ type: RoleEnum, required: true, description: 'The new role.' }),
    },
    resolve: (_root, args, ctx) =>
      changeUserRole(
        ctx.deps,
        ctx.principal,
        { userId: String(args.userId), role: args.role },
        ctx.requestId,
      ),
  }),
  deactivateUser: t.field({
    type: UserRef,
    description:
      'Deactivates a user (admins only): logins fail, sessions end, and within seconds their access tokens and API keys are refused and their subscriptions closed.',
    directives: policyDirectives.requiresScopes('users:manage'),
    args: { userId: t.arg.id({ required: true, description: 'The user to deactivate.' }) },
    resolve: (_root, args, ctx) =>
      deactivateUser(ctx.deps, ctx.principal, { userId: String(args.userId) }, ctx.requestId),
  }),
}));
