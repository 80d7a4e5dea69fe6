import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { PASSWORD_HASH_COST } from '../domain/passwords.js';
import { login, logout, refresh, type Session } from '../domain/sessions.js';
import { UserRef } from './refs.js';

const AuthPayload = builder.objectRef<Session>('AuthPayload').implement({
  description:
    'A signed-in session: a short-lived access token and a refresh token that rotates on every use.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', {
      description: 'JWT for `Authorization: Bearer`; lives 15 minutes.',
    }),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', {
      type: 'DateTime',
      description: 'When it expires.',
    }),
    refreshToken: t.exposeString('refreshToken', {
      description: 'Opaque; exchange it once with `refreshSession`. Reusing a spent one ends the session.',
    }),
    refreshTokenExpiresAt: t.expose('refreshTokenExpiresAt', {
      type: 'DateTime',
      description: 'When it expires.',
    }),
    user: t.field({ type: UserRef, description: 'The signed-in user.', resolve: (session) => session.user }),
  }),
});

const LogoutPayload = builder.objectRef<{ revokedSessions: number }>('LogoutPayload').implement({
  description: 'Result of a logout.',
  fields: (t) => ({
    revokedSessions: t.exposeInt('revokedSessions', {
      description: 'Sessions ended by this call (0 if already ended).',
    }),
  }),
});

const SigningKeyRotation = builder.objectRef<{ keyId: string }>('SigningKeyRotation').implement({
  description: 'Result of a signing-key rotation.',
  fields: (t) => ({
    keyId: t.exposeString('keyId', { description: 'The `kid` that signs new access tokens from now on.' }),
  }),
});

const LoginInput = builder.inputType('LoginInput', {
  description: 'Email and password.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'Login email (case-insensitive).' }),
    password: t.string({ required: true, description: 'Password, at most 1024 characters.' }),
  }),
});

const RefreshSessionInput = builder.inputType('RefreshSessionInput', {
  description: 'A refresh token to exchange.',
  fields: (t) => ({
    refreshToken: t.string({ required: true, description: 'From login or the last refresh.' }),
  }),
});

const LogoutInput = builder.inputType('LogoutInput', {
  description: 'The session to end.',
  fields: (t) => ({
    refreshToken: t.string({ required: true, description: "The session's current refresh token." }),
    allSessions: t.boolean({ required: false, description: "End every session of the token's user." }),
  }),
});

builder.mutationFields((t) => ({
  login: t.field({
    type: AuthPayload,
    description: 'Signs in with email and password. Throttled per client address.',
    // Public; verifying the password (scrypt, 32 MiB) is the expensive part, also for unknown emails.
    directives: policyDirectives.cost(PASSWORD_HASH_COST),
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      login(ctx.deps, input, { clientIp: ctx.clientIp, userAgent: ctx.userAgent, requestId: ctx.requestId }),
  }),
  refreshSession: t.field({
    type: AuthPayload,
    description:
      'Exchanges a refresh token for a new access token and a new refresh token. Throttled per client address.',
    args: { input: t.arg({ type: RefreshSessionInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      refresh(ctx.deps, input.refreshToken, {
        clientIp: ctx.clientIp,
        userAgent: ctx.userAgent,
        requestId: ctx.requestId,
      }),
  }),
  logout: t.field({
    type: LogoutPayload,
    description: 'Ends a session. Access tokens already issued expire on their own (15 minutes at most).',
    args: { input: t.arg({ type: LogoutInput, required: true }) },
    resolve: (_root, { input }, ctx) => logout(ctx.deps, input),
  }),
  rotateSigningKey: t.field({
    type: SigningKeyRotation,
    description:
      'Starts signing access tokens with a new key (admins only); the old key verifies until its tokens expire.',
    directives: policyDirectives.requiresScopes('users:manage'),
    resolve: async (_root, _args, ctx) => {
      return { keyId: await ctx.deps.keys.rotate() };
    },
  }),
}));
