import { startRedisServer, type TestRedisServer } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

const ME = /* GraphQL */ `
  query {
    me {
      id
      role
    }
  }
`;

describe('the whole graph through a Redis outage (every component on one private Redis)', () => {
  let redis: TestRedisServer;
  let stack: Stack;
  let apiKey: string;
  let userId: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    stack = await startStack({}, { redisUrl: redis.url });
    const session = await stack.loginAdmin();
    userId = session.userId;
    const created = await stack.query(
      `mutation { createApiKey(input: { name: "outage", scopes: ["graph:read"] }) { secret } }`,
      {},
      { authorization: `Bearer ${session.accessToken}` },
    );
    apiKey = created.data!['createApiKey'].secret as string;
  });
  afterAll(async () => {
    await stack?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  it('answers API-key requests promptly (without waiting on Redis) while Redis is down', async () => {
    await redis.stop();
    try {
      // Several in a row: none may wait for Redis (the key cache misses at once, the budget counts locally).
      for (let i = 0; i < 5; i += 1) {
        const started = performance.now();
        const result = await stack.query(ME, {}, { 'x-api-key': apiKey });
        const elapsed = performance.now() - started;
        expect(result.errors).toBeUndefined();
        expect(result.data).toEqual({ me: { id: userId, role: 'ADMIN' } });
        // Waiting on Redis cost about 4 s per call (retries and reconnect backoff), 8.7 s for one request; a
        // fail-fast call costs milliseconds. The bound sits between the two with room for a loaded CI machine.
        expect(elapsed).toBeLessThan(3_000);
      }
    } finally {
      await redis.start();
    }
  });

  it('keeps login and refreshSession working through the router while Redis is down', async () => {
    await redis.stop();
    try {
      const session = await stack.loginAdmin();
      const refreshed = await stack.query(
        `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }`,
        { t: session.refreshToken },
      );
      expect(refreshed.errors).toBeUndefined();
      expect(refreshed.data!['refreshSession'].accessToken).toEqual(expect.any(String));
    } finally {
      await redis.start();
    }
  });

  it('answers /ready with 200 degraded, naming the cache and the degraded subgraphs, while Redis is down', async () => {
    await redis.stop();
    try {
      const response = await fetch(`${stack.router.url}/ready`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { status: string; degraded: string[] };
      expect(body.status).toBe('degraded');
      expect(body.degraded).toEqual(
        expect.arrayContaining([
          'cache:redis',
          'subgraph:identity',
          'subgraph:chat',
          'subgraph:orchestration',
        ]),
      );
    } finally {
      await redis.start();
    }
  });
});
