import { randomUUID } from 'node:crypto';
import { ApiKeyRevoked, UserDeactivated, UserRegistered, UserRoleChanged, type Role } from '@cap/events';
import { type Principal } from '@cap/runtime';
import { seededRandom, userPrincipal } from '@cap/testkit';
import { describe, expect, it } from 'vitest';
import { REVOCATION_RETENTION_MS, RevocationView } from '../src/revocation/RevocationView.js';

/** The view's rules over generated event sequences and credentials (the behaviour behind ADR 0013). */
const ROLES: Role[] = ['ADMIN', 'DEVELOPER', 'VIEWER'];
const T0 = Date.parse('2026-12-01T12:00:00.000Z');

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const user = (userId: string, role: Role): Principal => userPrincipal(role, userId);
const apiKey = (userId: string, apiKeyId: string, role: Role): Principal => ({
  kind: 'apiKey',
  userId,
  apiKeyId,
  role,
  scopes: ['chat:read'],
  tier: 'FREE',
});
const at = (ms: number) => ({ occurredAt: new Date(ms).toISOString() });
const roleChanged = (userId: string, from: Role, to: Role, ms: number) => ({
  ...UserRoleChanged.create({ userId, from, to }, { source: 'identity', aggregateId: userId }),
  ...at(ms),
});
const deactivated = (userId: string, ms: number) => ({
  ...UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId }),
  ...at(ms),
});
const keyRevoked = (keyId: string, ownerId: string, ms: number) => ({
  ...ApiKeyRevoked.create({ keyId, ownerId }, { source: 'identity', aggregateId: keyId }),
  ...at(ms),
});

describe('RevocationView', () => {
  it('after any sequence of role changes, accepts only tokens carrying the latest role (generated sequences)', () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const next = seededRandom(seed);
      let now = T0;
      const view = new RevocationView({ now: () => now });
      const userId = randomUUID();
      let role: Role = pick(next, ROLES);
      const changes = 1 + Math.floor(next() * 5);
      for (let i = 0; i < changes; i += 1) {
        const to = pick(
          next,
          ROLES.filter((candidate) => candidate !== role),
        );
        now += 1 + Math.floor(next() * 60_000);
        view.apply(roleChanged(userId, role, to, now));
        role = to;
      }
      const issuedAt = now - Math.floor(next() * 600_000);
      for (const tokenRole of ROLES) {
        const revoked = view.check(user(userId, tokenRole), issuedAt);
        expect(revoked?.reason ?? null, `seed ${seed}, token ${tokenRole}, current ${role}`).toBe(
          tokenRole === role ? null : 'role_changed',
        );
      }
      // Another user is never affected.
      expect(view.check(user(randomUUID(), pick(next, ROLES)), issuedAt)).toBeNull();
    }
  });

  it('refuses every token issued up to a deactivation, and the user’s API keys, but nobody else (generated times)', () => {
    const next = seededRandom(7);
    for (let i = 0; i < 100; i += 1) {
      const now = T0 + 3_600_000;
      const view = new RevocationView({ now: () => now });
      const userId = randomUUID();
      const when = T0 + Math.floor(next() * 3_600_000);
      view.apply(deactivated(userId, when));
      const before = when - Math.floor(next() * 900_000);
      expect(view.check(user(userId, 'DEVELOPER'), before)?.reason).toBe('user_deactivated');
      // `iat` has whole seconds: the token stamped in the same second counts as before.
      expect(view.check(user(userId, 'DEVELOPER'), Math.floor(when / 1000) * 1000)?.reason).toBe(
        'user_deactivated',
      );
      expect(view.check(apiKey(userId, randomUUID(), 'VIEWER'))?.reason).toBe('user_deactivated');
      expect(view.check(user(randomUUID(), 'DEVELOPER'), before)).toBeNull();
    }
  });

  it('refuses exactly the revoked API keys', () => {
    const view = new RevocationView({ now: () => T0 });
    const owner = randomUUID();
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const revoked = new Set(keys.filter((_, index) => index % 3 === 0));
    for (const keyId of revoked) view.apply(keyRevoked(keyId, owner, T0 - 1_000));
    for (const keyId of keys) {
      expect(view.check(apiKey(owner, keyId, 'DEVELOPER'))?.reason ?? null).toBe(
        revoked.has(keyId) ? 'api_key_revoked' : null,
      );
    }
    // The owner's access tokens are not revoked with a key.
    expect(view.check(user(owner, 'DEVELOPER'), T0)).toBeNull();
  });

  it('ignores events older than the retention, forgets entries past it, and lets no replayed older change win', () => {
    let now = T0;
    const view = new RevocationView({ now: () => now });
    const userId = randomUUID();
    view.apply(deactivated(randomUUID(), now - REVOCATION_RETENTION_MS - 1));
    expect(view.size).toBe(0);

    view.apply(roleChanged(userId, 'DEVELOPER', 'VIEWER', now));
    view.apply(roleChanged(userId, 'ADMIN', 'DEVELOPER', now - 60_000));
    expect(view.check(user(userId, 'VIEWER'), now)).toBeNull();
    expect(view.check(user(userId, 'DEVELOPER'), now)?.reason).toBe('role_changed');

    now += REVOCATION_RETENTION_MS + 1;
    expect(view.check(user(userId, 'DEVELOPER'), now - 1_000)).toBeNull();
    view.apply(keyRevoked(randomUUID(), userId, now));
    expect(view.size).toBe(1);
  });

  it('tells listeners whom each revocation affects, and ignores identity events that revoke nothing', () => {
    const view = new RevocationView({ now: () => T0 });
    const notices: unknown[] = [];
    const stop = view.onRevocation((notice) => notices.push(notice));
    const userId = randomUUID();
    const keyId = randomUUID();
    view.apply({
      ...UserRegistered.create(
        { userId, email: 'a@example.com', role: 'VIEWER' },
        { source: 'identity', aggregateId: userId },
      ),
      ...at(T0),
    });
    view.apply(roleChanged(userId, 'VIEWER', 'DEVELOPER', T0));
    view.apply(keyRevoked(keyId, userId, T0));
    stop();
    view.apply(deactivated(userId, T0));
    expect(notices).toEqual([{ userId }, { userId, apiKeyId: keyId }]);
  });
});
