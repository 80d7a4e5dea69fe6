import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '@cap/testkit';
import { LOGIN, randomIp, startIdentityHarness, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentityHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const REFRESH = /* GraphQL */ `
  mutation Refresh($token: String!) {
    refreshSession(input: { refreshToken: $token }) {
      accessToken
      refreshToken
      user {
        id
      }
    }
  }
`;

describe('login', () => {
  it('signs in the bootstrapped admin with an ES256 access token the JWKS verifies', async () => {
    const result = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    expect(result.errors).toBeUndefined();
    const { accessToken, refreshToken, user } = result.data!['login'];
    expect(user.role).toBe('ADMIN');
    expect(refreshToken).toMatch(/^rt_/);
    const jwks = createRemoteJWKSet(new URL(`${h.identity.subgraph.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: 'cap-identity',
      audience: 'cap-router',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(user.id);
    expect(payload['scopes']).toContain('users:manage');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it('gives a wrong password and an unknown email the same error, and ignores email case', async () => {
    const wrong = await h.call(LOGIN, { email: h.admin.email, password: 'not-the-password-at-all' });
    const unknown = await h.call(LOGIN, { email: 'nobody@example.com', password: 'not-the-password-at-all' });
    expect(errorCodes(wrong)).toEqual(['INVALID_CREDENTIALS']);
    expect(errorCodes(unknown)).toEqual(['INVALID_CREDENTIALS']);
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
    const upper = await h.call(LOGIN, { email: h.admin.email.toUpperCase(), password: h.admin.password });
    expect(upper.errors).toBeUndefined();
  });

  it('refuses a 1 MB password with BAD_USER_INPUT before hashing it', async () => {
    const result = await h.call(LOGIN, { email: h.admin.email, password: 'x'.repeat(1024 * 1024) });
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.['expected']).toBe('at most 1024 characters');
  });

  it('treats SQL metacharacters in the email as data', async () => {
    for (const email of [
      "' OR '1'='1",
      "admin@example.com' --",
      'x"; DROP TABLE identity.users; --@example.com',
    ]) {
      const result = await h.call(LOGIN, { email, password: 'whatever-password' });
      expect(errorCodes(result)).toEqual(['INVALID_CREDENTIALS']);
    }
    expect(await h.identity.deps.prisma.user.count()).toBeGreaterThan(0);
  });

  it('throttles the 11th login a minute from one address, with Retry-After data, and not other addresses', async () => {
    const clientIp = randomIp();
    const codes: string[] = [];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const result = await h.call(
        LOGIN,
        { email: 'nobody@example.com', password: 'wrong-password-123' },
        { clientIp },
      );
      codes.push(...errorCodes(result));
      if (attempt === 19) expect(result.errors?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(0);
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('INVALID_CREDENTIALS'));
    expect(codes.slice(10)).toEqual(Array(10).fill('RATE_LIMITED'));
    // The right password is throttled too from that address: the limit is per address, not per failure.
    const blocked = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password }, { clientIp });
    expect(errorCodes(blocked)).toEqual(['RATE_LIMITED']);
    const elsewhere = await h.call(
      LOGIN,
      { email: h.admin.email, password: h.admin.password },
      { clientIp: randomIp() },
    );
    expect(elsewhere.errors).toBeUndefined();
  });
});

describe('refresh tokens', () => {
  it('rotate on every use; reusing a spent one revokes the whole family and records an event', async () => {
    const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    const first = login.data!['login'].refreshToken as string;
    const rotated = await h.call(REFRESH, { token: first });
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!['refreshSession'].refreshToken as string;
    expect(second).not.toBe(first);
    expect(decodeJwt(rotated.data!['refreshSession'].accessToken).sub).toBe(login.data!['login'].user.id);

    const reuse = await h.call(REFRESH, { token: first });
    expect(errorCodes(reuse)).toEqual(['INVALID_REFRESH_TOKEN']);
    // The legitimate holder's newer token died with the family.
    const afterReuse = await h.call(REFRESH, { token: second });
    expect(errorCodes(afterReuse)).toEqual(['INVALID_REFRESH_TOKEN']);

    const events = await h.identity.deps.prisma.$queryRawUnsafe<Array<{ type: string }>>(
      `SELECT type FROM "identity"."outbox_events" WHERE type = 'RefreshTokenReuseDetected'`,
    );
    expect(events.length).toBeGreaterThanOrEqual(1);
  });

  it('lets exactly one of two concurrent refreshes with the same token win', async () => {
    const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    const token = login.data!['login'].refreshToken as string;
    const results = await Promise.all([h.call(REFRESH, { token }), h.call(REFRESH, { token })]);
    const succeeded = results.filter((result) => !result.errors);
    expect(succeeded.length).toBeLessThanOrEqual(1);
    expect(results.flatMap(errorCodes).every((code) => code === 'INVALID_REFRESH_TOKEN')).toBe(true);
  });

  it('refuses unknown, malformed and oversized tokens with INVALID_REFRESH_TOKEN', async () => {
    for (const token of ['rt_unknown', 'not-a-token', `rt_${'a'.repeat(10_000)}`, '']) {
      expect(errorCodes(await h.call(REFRESH, { token }))).toEqual(['INVALID_REFRESH_TOKEN']);
    }
  });

  it('stop working after logout, and logout is idempotent', async () => {
    const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    const token = login.data!['login'].refreshToken as string;
    const LOGOUT = `mutation($t: String!) { logout(input: { refreshToken: $t }) { revokedSessions } }`;
    expect((await h.call(LOGOUT, { t: token })).data?.['logout']).toEqual({ revokedSessions: 1 });
    expect((await h.call(LOGOUT, { t: token })).data?.['logout']).toEqual({ revokedSessions: 0 });
    expect(errorCodes(await h.call(REFRESH, { token }))).toEqual(['INVALID_REFRESH_TOKEN']);
  });
});

describe('signing keys', () => {
  it('rotate: the old key stays in the JWKS so tokens it signed keep verifying', async () => {
    const before = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    const oldToken = before.data!['login'].accessToken as string;
    const admin = {
      kind: 'user',
      userId: before.data!['login'].user.id,
      role: 'ADMIN',
      scopes: ['users:manage'],
    } as const;
    const rotation = await h.call(`mutation { rotateSigningKey { keyId } }`, {}, { principal: admin });
    expect(rotation.errors).toBeUndefined();
    const after = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    const newToken = after.data!['login'].accessToken as string;
    const jwks = createRemoteJWKSet(new URL(`${h.identity.subgraph.url}/.well-known/jwks.json`));
    const verifiedOld = await jwtVerify(oldToken, jwks);
    const verifiedNew = await jwtVerify(newToken, jwks);
    expect(verifiedNew.protectedHeader.kid).toBe(rotation.data!['rotateSigningKey'].keyId);
    expect(verifiedOld.protectedHeader.kid).not.toBe(verifiedNew.protectedHeader.kid);
  });

  it('refuses rotation to non-admins', async () => {
    const developer = {
      kind: 'user',
      userId: '00000000-0000-4000-8000-000000000001',
      role: 'DEVELOPER',
      scopes: ['tasks:write'],
    } as const;
    expect(
      errorCodes(await h.call(`mutation { rotateSigningKey { keyId } }`, {}, { principal: developer })),
    ).toEqual(['FORBIDDEN']);
    expect(errorCodes(await h.call(`mutation { rotateSigningKey { keyId } }`))).toEqual(['UNAUTHENTICATED']);
  });
});
