import { startRedisServer, errorCodes, type TestRedisServer } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, randomIp, startIdentityHarness, type IdentityHarness } from './harness.js';

const REFRESH = /* GraphQL */ `
  mutation ($token: String!) {
    refreshSession(input: { refreshToken: $token }) {
      refreshToken
    }
  }
`;

describe('identity through a Redis outage (RATE_LIMIT_FAILURE_MODE=open, the default)', () => {
  let redis: TestRedisServer;
  let h: IdentityHarness;
  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startIdentityHarness(
      { LOGIN_ATTEMPTS_PER_MINUTE: '3', REFRESH_SESSION_ATTEMPTS_PER_MINUTE: '4' },
      { redisUrl: redis.url },
    );
  });
  afterAll(async () => {
    await h?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  it('keeps login and refreshSession working, counted by the in-process fallback limiter', async () => {
    await redis.stop();
    try {
      const clientIp = randomIp();
      const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password }, { clientIp });
      expect(login.errors).toBeUndefined();
      let token = login.data!['login'].refreshToken as string;
      const refreshed = await h.call(REFRESH, { token }, { clientIp });
      expect(refreshed.errors).toBeUndefined();
      token = refreshed.data!['refreshSession'].refreshToken;
      expect(token).toMatch(/^rt_/);
    } finally {
      await redis.start();
    }
  });

  it('still refuses hammering with a coded RATE_LIMITED, per address, for any number of attempts', async () => {
    await redis.stop();
    try {
      // Generated attempt counts around the limit (3 per minute): exactly the first three pass the throttle.
      for (const attempts of [1, 3, 4, 7]) {
        const clientIp = randomIp();
        const codes: string[] = [];
        for (let i = 0; i < attempts; i += 1) {
          const result = await h.call(LOGIN, { email: h.admin.email, password: `wrong-${i}` }, { clientIp });
          codes.push(...errorCodes(result));
          if (errorCodes(result).includes('RATE_LIMITED')) {
            expect(result.errors?.[0]?.extensions).toMatchObject({
              limit: 3,
              windowSeconds: 60,
              retryAfterSeconds: expect.any(Number),
            });
          }
        }
        const allowed = Math.min(attempts, 3);
        expect(codes).toEqual([
          ...Array<string>(allowed).fill('INVALID_CREDENTIALS'),
          ...Array<string>(attempts - allowed).fill('RATE_LIMITED'),
        ]);
      }
      // Another address is not affected.
      expect(
        (await h.call(LOGIN, { email: h.admin.email, password: h.admin.password }, { clientIp: randomIp() }))
          .errors,
      ).toBeUndefined();
    } finally {
      await redis.start();
    }
  });

  it('counts in Redis again once it is back', async () => {
    const deadline = Date.now() + 10_000;
    while (
      !(await h.identity.deps.kv.ping().then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error('the key-value store did not reconnect');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const clientIp = randomIp();
    const codes: string[] = [];
    for (let i = 0; i < 4; i += 1)
      codes.push(
        ...errorCodes(await h.call(LOGIN, { email: h.admin.email, password: 'wrong' }, { clientIp })),
      );
    expect(codes).toEqual([
      'INVALID_CREDENTIALS',
      'INVALID_CREDENTIALS',
      'INVALID_CREDENTIALS',
      'RATE_LIMITED',
    ]);
    // The window is in Redis (shared by every instance), not in this process.
    expect(await h.identity.deps.kv.get(`identity:login:ip:${clientIp}`)).toBe('4');
  });
});

describe('identity through a Redis outage with RATE_LIMIT_FAILURE_MODE=closed', () => {
  let redis: TestRedisServer;
  let h: IdentityHarness;
  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startIdentityHarness({ RATE_LIMIT_FAILURE_MODE: 'closed' }, { redisUrl: redis.url });
  });
  afterAll(async () => {
    await h?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  it('refuses throttled operations with RATE_LIMITER_UNAVAILABLE while Redis is down, and works again after', async () => {
    await redis.stop();
    try {
      const refused = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
      expect(errorCodes(refused)).toEqual(['RATE_LIMITER_UNAVAILABLE']);
      expect(refused.errors?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(0);
    } finally {
      await redis.start();
    }
    const deadline = Date.now() + 10_000;
    let result = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    while (result.errors && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
    }
    expect(result.errors).toBeUndefined();
  });
});
