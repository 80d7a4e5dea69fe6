import { createHmac } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signRouterToken, verifyRouterToken, type RouterClaims } from '../src/internalToken.js';
import { ApiKeyTier, type Principal } from '../src/principal.js';
import { ALL_SCOPES, ROLES } from '../src/scopes.js';
import { seededNumbers } from './seededNumbers.js';

/**
 * The router token is signed with node:crypto (one per request, synchronously) and verified with jose: every
 * generated caller's claims survive the round trip, a standard JWT library accepts the token, and anything
 * altered, re-signed with another secret, expired or addressed elsewhere is refused.
 */
const SECRET = 'router-token-test-secret-of-enough-length';

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function generatedClaims(random: () => number, index: number): RouterClaims {
  const scopes = ALL_SCOPES.filter(() => random() < 0.4);
  const kind = pick(random, ['anonymous', 'user', 'apiKey'] as const);
  const principal: Principal =
    kind === 'anonymous'
      ? { kind }
      : kind === 'user'
        ? { kind, userId: `user-${index}-ü`, role: pick(random, ROLES), scopes }
        : {
            kind,
            userId: `user-${index}`,
            apiKeyId: `key-${index}`,
            role: pick(random, ROLES),
            scopes,
            tier: pick(random, Object.values(ApiKeyTier)),
          };
  return {
    principal,
    requestId: `req-${index}-"quoted"`,
    clientIp: index % 2 ? '::1' : `10.0.0.${index % 255}`,
  };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signed(payload: unknown, secret = SECRET): string {
  const input = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('router token', () => {
  it('carries every generated caller to the subgraph unchanged, as a standard HS256 JWT', async () => {
    const random = seededNumbers(15);
    for (let index = 0; index < 200; index += 1) {
      const claims = generatedClaims(random, index);
      const token = await signRouterToken(SECRET, claims);
      expect(await verifyRouterToken(SECRET, token)).toEqual({ ok: true, claims });
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
      const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
        issuer: 'cap-router',
        audience: 'cap-subgraphs',
        algorithms: ['HS256'],
      });
      expect(payload.exp! - payload.iat!).toBe(60);
    }
  });

  it('refuses altered, foreign, expired, misaddressed and malformed tokens', async () => {
    const claims = generatedClaims(seededNumbers(3), 1);
    const token = await signRouterToken(SECRET, claims);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const other: RouterClaims = { ...claims, principal: { kind: 'anonymous' } };
    const now = Math.floor(Date.now() / 1000);
    const valid = { p: claims.principal, rid: 'r', ip: '::1', iss: 'cap-router', aud: 'cap-subgraphs' };
    const refused: Array<[string | undefined, 'missing' | 'expired' | 'invalid']> = [
      [undefined, 'missing'],
      [`${header}.${base64url({ p: other.principal, rid: 'r', ip: '::1' })}.${signature}`, 'invalid'],
      [`${header}.${payload}.${signature.slice(0, -2)}AA`, 'invalid'],
      [await signRouterToken('another-secret-that-is-long-enough-too', claims), 'invalid'],
      [signed({ ...valid, iat: now - 200, exp: now - 100 }), 'expired'],
      [signed({ ...valid, iat: now, exp: now + 60, aud: 'someone-else' }), 'invalid'],
      [signed({ ...valid, iat: now, exp: now + 60, iss: 'not-the-router' }), 'invalid'],
      [signed({ ...valid, iat: now, exp: now + 60, p: { kind: 'root' } }), 'invalid'],
      [`${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`, 'invalid'],
      ['not.a.jwt', 'invalid'],
    ];
    for (const [candidate, reason] of refused)
      expect(await verifyRouterToken(SECRET, candidate)).toEqual({ ok: false, reason });
  });

  it('refuses to sign with a short secret', async () => {
    await expect(signRouterToken('short', generatedClaims(seededNumbers(1), 0))).rejects.toThrow(
      /at least 32/,
    );
  });
});
