import { z } from 'zod';
import { defineEvent } from './defineEvent.js';

/**
 * Identity's events. Identity publishes facts about users, API keys and sessions; other contexts react
 * (the dashboard's activity feed, notifications, the router's key cache).
 *
 * Payloads carry ids and the changed facts, never secrets: no password hashes, no key secrets, no tokens.
 */

/** Identity's topics, one per aggregate. */
export const IdentityTopic = {
  user: 'identity.user',
  apiKey: 'identity.apikey',
  /** Refresh-token families: one login's chain of rotated refresh tokens. */
  session: 'identity.session',
} as const;

/** Mirrors identity's `Role` enum; declared here so event consumers need not depend on identity. */
export const Role = z.enum(['ADMIN', 'DEVELOPER', 'VIEWER']);
export type Role = z.infer<typeof Role>;

/** Mirrors identity's `ApiKeyTier` enum; the tier sets the key's rate and cost limits. */
export const ApiKeyTier = z.enum(['FREE', 'PRO', 'ENTERPRISE']);
export type ApiKeyTier = z.infer<typeof ApiKeyTier>;

export const UserRegistered = defineEvent({
  type: 'UserRegistered',
  version: 1,
  topic: IdentityTopic.user,
  description: 'A user account was created (by sign-up or by an admin).',
  payload: z.object({ userId: z.uuid(), email: z.email(), role: Role }),
});

export const UserRoleChanged = defineEvent({
  type: 'UserRoleChanged',
  version: 1,
  topic: IdentityTopic.user,
  description: "An admin changed a user's role; scopes derived from the old role no longer apply.",
  payload: z.object({ userId: z.uuid(), from: Role, to: Role }),
});

export const UserDeactivated = defineEvent({
  type: 'UserDeactivated',
  version: 1,
  topic: IdentityTopic.user,
  description:
    'A user was deactivated: they can no longer log in, and their sessions and API keys stop working.',
  payload: z.object({ userId: z.uuid() }),
});

export const ApiKeyCreated = defineEvent({
  type: 'ApiKeyCreated',
  version: 1,
  topic: IdentityTopic.apiKey,
  description: 'An API key was issued. Only its public prefix travels; the secret never leaves identity.',
  payload: z.object({
    keyId: z.uuid(),
    ownerId: z.uuid(),
    prefix: z.string().min(1),
    scopes: z.array(z.string().min(1)),
    tier: ApiKeyTier,
  }),
});

export const ApiKeyRevoked = defineEvent({
  type: 'ApiKeyRevoked',
  version: 1,
  topic: IdentityTopic.apiKey,
  description: 'An API key was revoked; caches holding it must drop it.',
  payload: z.object({ keyId: z.uuid(), ownerId: z.uuid() }),
});

export const RefreshTokenReuseDetected = defineEvent({
  type: 'RefreshTokenReuseDetected',
  version: 1,
  topic: IdentityTopic.session,
  description:
    'A rotated refresh token was presented again, a sign it was stolen; identity revoked the whole token family.',
  payload: z.object({ userId: z.uuid(), familyId: z.uuid() }),
});

/** Every identity contract, for the global registry. */
export const identityContracts = [
  UserRegistered,
  UserRoleChanged,
  UserDeactivated,
  ApiKeyCreated,
  ApiKeyRevoked,
  RefreshTokenReuseDetected,
] as const;
