import type { Principal } from '@cap/runtime';
import { errorCodes } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, randomIp, startIdentityHarness, type IdentityHarness } from './harness.js';

// Real Redis (the harness's store, own key prefix), small limits so the tests reach them quickly.
let h: IdentityHarness;
let admin: Principal;
beforeAll(async () => {
  h = await startIdentityHarness({
    REFRESH_SESSION_ATTEMPTS_PER_MINUTE: '3',
    CREATE_API_KEY_ATTEMPTS_PER_MINUTE: '2',
  });
  const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
  admin = {
    kind: 'user',
    userId: login.data!['login'].user.id,
    role: 'ADMIN',
    scopes: ['users:manage', 'apikeys:manage', 'graph:read'],
  };
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const REFRESH = /* GraphQL */ `
  mutation ($token: String!) {
    refreshSession(input: { refreshToken: $token }) {
      refreshToken
    }
  }
`;
const CREATE_KEY = /* GraphQL */ `
  mutation ($name: String!) {
    createApiKey(input: { name: $name, scopes: ["graph:read"] }) {
      apiKey {
        id
      }
    }
  }
`;

describe('per-address rate limits', () => {
  it('throttles refreshSession after REFRESH_SESSION_ATTEMPTS_PER_MINUTE from one address, valid tokens included', async () => {
    const clientIp = randomIp();
    const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    let token = login.data!['login'].refreshToken as string;
    const codes: string[] = [];
    // Two guesses and one real exchange use up the three attempts; the fourth is refused, valid or not.
    for (const guess of ['rt_guess-1', 'rt_guess-2'])
      codes.push(...errorCodes(await h.call(REFRESH, { token: guess }, { clientIp })));
    const exchanged = await h.call(REFRESH, { token }, { clientIp });
    expect(exchanged.errors).toBeUndefined();
    token = exchanged.data!['refreshSession'].refreshToken;
    const refused = await h.call(REFRESH, { token }, { clientIp });
    expect(codes).toEqual(['INVALID_REFRESH_TOKEN', 'INVALID_REFRESH_TOKEN']);
    expect(errorCodes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ limit: 3, windowSeconds: 60 });
    const retryAfter = refused.errors?.[0]?.extensions?.['retryAfterSeconds'] as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The refused call did not spend the token: from another address it still works.
    expect((await h.call(REFRESH, { token }, { clientIp: randomIp() })).errors).toBeUndefined();
  });

  it('throttles createApiKey after CREATE_API_KEY_ATTEMPTS_PER_MINUTE from one address, not other addresses', async () => {
    const clientIp = randomIp();
    for (const name of ['rl-1', 'rl-2']) {
      expect((await h.call(CREATE_KEY, { name }, { principal: admin, clientIp })).errors).toBeUndefined();
    }
    const refused = await h.call(CREATE_KEY, { name: 'rl-3' }, { principal: admin, clientIp });
    expect(errorCodes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ limit: 2, windowSeconds: 60 });
    expect(refused.errors?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(0);
    expect(await h.identity.deps.prisma.apiKey.count({ where: { name: 'rl-3' } })).toBe(0);
    expect(
      (await h.call(CREATE_KEY, { name: 'rl-4' }, { principal: admin, clientIp: randomIp() })).errors,
    ).toBeUndefined();
  });

  it('does not count callers the schema refuses: an anonymous flood leaves the address its attempts', async () => {
    const clientIp = randomIp();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect(errorCodes(await h.call(CREATE_KEY, { name: 'anonymous' }, { clientIp }))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    expect(
      (await h.call(CREATE_KEY, { name: 'after-flood' }, { principal: admin, clientIp })).errors,
    ).toBeUndefined();
  });
});
