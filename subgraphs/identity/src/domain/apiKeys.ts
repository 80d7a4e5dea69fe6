import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKeyCreated, ApiKeyRevoked } from '@cap/events';
import {
  codedError,
  ErrorCode,
  isScope,
  scopesForRole,
  type ApiKeyTier,
  type Principal,
  type Role,
  type Scope,
} from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { ApiKey } from '../generated/prisma/client.js';
import { requireScope } from './authorization.js';
import { type IdentityDeps } from './deps.js';
import { enforceRateLimit } from './rateLimits.js';
import { sha256 } from './secretBox.js';
import type { RequestOrigin } from './sessions.js';
import { parseId, parseName } from './validation.js';

/** `cap_<prefix>_<secret>`: the prefix identifies the key in listings and lookups; only the secret's hash is kept. */
const KEY_PATTERN = /^cap_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** Most keys one user may hold unrevoked. */
export const MAX_ACTIVE_KEYS_PER_USER = 25;

function newPrefix(): string {
  const bytes = randomBytes(12);
  return Array.from(bytes, (byte) => PREFIX_ALPHABET[byte % PREFIX_ALPHABET.length]).join('');
}

export interface CreateApiKeyInput {
  name: string;
  scopes: string[];
  tier?: ApiKeyTier | null | undefined;
  expiresAt?: Date | null | undefined;
}

/**
 * Creates an API key for the caller. The secret is returned once; scopes may not exceed the owner's; tiers
 * above FREE are granted by ADMINs only. Throttled per client address (after the access checks).
 */
export async function createApiKey(
  deps: IdentityDeps,
  principal: Principal,
  input: CreateApiKeyInput,
  origin: RequestOrigin,
): Promise<{ apiKey: ApiKey; secret: string }> {
  const owner = requireScope(principal, 'apikeys:manage');
  if (owner.kind === 'apiKey') {
    throw codedError(ErrorCode.FORBIDDEN, 'API keys cannot create other API keys; sign in as the user.');
  }
  await enforceRateLimit(
    deps,
    {
      operation: 'createApiKey',
      limit: deps.settings.apiKeyCreationsPerMinute,
      windowSeconds: 60,
      message: 'Too many API keys created from this address.',
    },
    origin.clientIp,
  );
  const name = parseName(input.name, 'name');
  if (input.scopes.length === 0 || input.scopes.length > 50) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'An API key needs between 1 and 50 scopes.', {
      field: 'scopes',
    });
  }
  const unknown = input.scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Unknown scopes.', {
      field: 'scopes',
      unknown: unknown.slice(0, 10),
    });
  }
  const scopes = [...new Set(input.scopes as Scope[])].sort();
  const allowed = scopesForRole(owner.role);
  const excess = scopes.filter((scope) => !allowed.includes(scope));
  if (excess.length > 0) {
    throw codedError(ErrorCode.FORBIDDEN, 'An API key cannot have scopes its owner does not have.', {
      scopes: excess,
    });
  }
  const tier = input.tier ?? 'FREE';
  if (tier !== 'FREE' && !allowed.includes('users:manage')) {
    throw codedError(ErrorCode.FORBIDDEN, `Only admins can create ${tier} keys.`, { field: 'tier' });
  }
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'expiresAt must be in the future.', { field: 'expiresAt' });
  }
  const prefix = newPrefix();
  const secretPart = randomBytes(32).toString('base64url');
  const apiKey = await inTransaction(deps, async ({ tx }) => {
    const active = await tx.apiKey.count({ where: { ownerId: owner.userId, revokedAt: null } });
    if (active >= MAX_ACTIVE_KEYS_PER_USER) {
      throw codedError(
        ErrorCode.BAD_USER_INPUT,
        `At most ${MAX_ACTIVE_KEYS_PER_USER} active API keys per user.`,
        {
          field: 'name',
        },
      );
    }
    const created = await tx.apiKey.create({
      data: {
        ownerId: owner.userId,
        name,
        prefix,
        secretHash: sha256(secretPart),
        scopes,
        tier,
        expiresAt: input.expiresAt ?? null,
      },
    });
    await deps.events.record(tx, [
      ApiKeyCreated.create(
        { keyId: created.id, ownerId: owner.userId, prefix, scopes, tier },
        {
          source: 'identity',
          aggregateId: created.id,
          metadata: { actorId: owner.userId, requestId: origin.requestId },
        },
      ),
    ]);
    return created;
  });
  return { apiKey, secret: `cap_${prefix}_${secretPart}` };
}

/** Revokes a key: its owner or an ADMIN. Revoking twice is a no-op. */
export async function revokeApiKey(
  deps: IdentityDeps,
  principal: Principal,
  input: { id: string },
  requestId?: string,
): Promise<ApiKey> {
  const actor = requireScope(principal, 'apikeys:manage');
  const id = parseId(input.id);
  return inTransaction(deps, async ({ tx }) => {
    const key = await tx.apiKey.findUnique({ where: { id } });
    const isAdmin = actor.scopes.includes('users:manage');
    // Someone else's key is reported as missing, not forbidden: ids of other users' keys stay private.
    if (!key || (key.ownerId !== actor.userId && !isAdmin))
      throw codedError(ErrorCode.NOT_FOUND, 'API key not found.', { id });
    if (key.revokedAt) return key;
    const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await deps.events.record(tx, [
      ApiKeyRevoked.create(
        { keyId: id, ownerId: key.ownerId },
        {
          source: 'identity',
          aggregateId: id,
          metadata: { actorId: actor.userId, ...(requestId ? { requestId } : {}) },
        },
      ),
    ]);
    return revoked;
  });
}

/** What the router learns from a valid key. */
export interface VerifiedApiKey {
  apiKeyId: string;
  userId: string;
  role: Role;
  /** The key's scopes narrowed to what its owner holds today (the owner's role may have been lowered). */
  scopes: Scope[];
  tier: ApiKeyTier;
  expiresAt: Date | null;
}

/** Verifies a presented key; null for anything unknown, malformed, revoked, expired or owned by a deactivated user. */
export async function verifyApiKey(deps: IdentityDeps, presented: string): Promise<VerifiedApiKey | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return null;
  const [, prefix, secretPart] = match as unknown as [string, string, string];
  const key = await deps.prisma.apiKey.findUnique({ where: { prefix }, include: { owner: true } });
  if (!key) return null;
  const expected = Buffer.from(key.secretHash, 'hex');
  const actual = Buffer.from(sha256(secretPart), 'hex');
  if (!timingSafeEqual(expected, actual)) return null;
  if (key.revokedAt || (key.expiresAt && key.expiresAt <= new Date()) || !key.owner.active) return null;
  // Last use is informational: record it at most once a minute per key to keep verification read-mostly.
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000) {
    await deps.prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
  }
  const ownerScopes = scopesForRole(key.owner.role as Role);
  return {
    apiKeyId: key.id,
    userId: key.ownerId,
    role: key.owner.role as Role,
    scopes: (key.scopes as Scope[]).filter((scope) => ownerScopes.includes(scope)),
    tier: key.tier as ApiKeyTier,
    expiresAt: key.expiresAt,
  };
}

/** Which of a user's keys a listing shows. */
export interface ApiKeysOfOwner {
  ownerId: string;
  includeRevoked: boolean;
}

/** DataLoader cache key of {@link ApiKeysOfOwner}. */
export function apiKeysOfOwnerKey(request: ApiKeysOfOwner): string {
  return `${request.ownerId}|${request.includeRevoked}`;
}

/**
 * The keys of many owners, newest first, in one statement per `includeRevoked` value (`users { apiKeys }`
 * lists keys for a whole page of users). Who may see them is the caller's check.
 */
export async function loadApiKeysOfOwners(
  prisma: IdentityDeps['prisma'],
  requests: readonly ApiKeysOfOwner[],
): Promise<ApiKey[][]> {
  const byKey = new Map<string, ApiKey[]>();
  await Promise.all(
    [false, true].map(async (includeRevoked) => {
      const ownerIds = [
        ...new Set(
          requests
            .filter((request) => request.includeRevoked === includeRevoked)
            .map((request) => request.ownerId),
        ),
      ];
      if (ownerIds.length === 0) return;
      const keys = await prisma.apiKey.findMany({
        where: { ownerId: { in: ownerIds }, ...(includeRevoked ? {} : { revokedAt: null }) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
      for (const ownerId of ownerIds) byKey.set(apiKeysOfOwnerKey({ ownerId, includeRevoked }), []);
      for (const key of keys)
        byKey.get(apiKeysOfOwnerKey({ ownerId: key.ownerId, includeRevoked }))?.push(key);
    }),
  );
  return requests.map((request) => byKey.get(apiKeysOfOwnerKey(request)) ?? []);
}

/** API keys by id in the order asked, null where none exists: one statement for a whole DataLoader batch. */
export async function loadApiKeysById(
  prisma: IdentityDeps['prisma'],
  ids: readonly string[],
): Promise<Array<ApiKey | null>> {
  const keys = await prisma.apiKey.findMany({ where: { id: { in: [...ids] } } });
  const byId = new Map(keys.map((key) => [key.id, key]));
  return ids.map((id) => byId.get(id) ?? null);
}
