import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { errorCodes, graphql } from '@cap/testkit';
import { TEST_REDIS_URL, useStackWithAdmin } from './harness.js';

/** Cost budgets per principal on real Redis, shared by router instances, and what happens when Redis dies. */
const file = useStackWithAdmin();

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const prefix = () => `test:rl:${randomUUID()}:`;

describe('cost budgets', () => {
  it('charges anonymous callers per address and refuses over budget with Retry-After', async () => {
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_ANONYMOUS: '3/1m',
    });
    const first = await graphql(router.graphqlUrl, '{ me { id } }');
    expect(first.data).toEqual({ me: null });
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    const reset = Number(first.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
    await graphql(router.graphqlUrl, '{ me { id } }');
    await graphql(router.graphqlUrl, '{ me { id } }');
    const before = file.stack.subgraphGraphQLRequests();
    const refused = await graphql(router.graphqlUrl, '{ me { id } }');
    expect(refused.status).toBe(429);
    expect(errorCodes(refused)).toEqual(['RATE_LIMITED']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(refused.errors?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(0);
    expect(file.stack.subgraphGraphQLRequests()).toBe(before);
  });

  it('shares one budget across router instances (one Lua script per check)', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, RATE_LIMIT_KEY_PREFIX: prefix(), RATE_LIMIT_USER: '40/1h' };
    const one = await file.stack.startRouter(env);
    const two = await file.stack.startRouter(env);
    // Twenty concurrent requests of cost 1 on each instance: exactly 40 pass, whatever the interleaving.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        graphql((i % 2 === 0 ? one : two).graphqlUrl, '{ me { id } }', {}, bearer(file.admin.accessToken)),
      ),
    );
    expect(results.filter((result) => result.status === 200)).toHaveLength(40);
    expect(results.filter((result) => errorCodes(result).includes('RATE_LIMITED'))).toHaveLength(10);
  });

  it('charges the estimated cost, not one per request', async () => {
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_USER: '100/1h',
    });
    const cheap = await graphql(router.graphqlUrl, '{ me { id } }', {}, bearer(file.admin.accessToken));
    const afterCheap = Number(cheap.headers.get('x-ratelimit-remaining'));
    const costly = await graphql(
      router.graphqlUrl,
      '{ users(first: 20) { edges { node { id } } } }',
      {},
      { ...bearer(file.admin.accessToken), 'x-include-cost': 'true' },
    );
    const estimated = (costly.extensions?.['cost'] as { estimated: number } | undefined)?.estimated ?? 0;
    expect(estimated).toBeGreaterThan(1);
    expect(Number(costly.headers.get('x-ratelimit-remaining'))).toBe(afterCheap - estimated);
  });

  it('gives API keys their tier budget', async () => {
    const created = await file.stack.query<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "tiered", scopes: ["graph:read"], tier: FREE }) { secret } }',
      {},
      bearer(file.admin.accessToken),
    );
    const secret = created.data?.createApiKey.secret;
    expect(secret).toBeTruthy();
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_TIER_FREE: '2/1h',
      RATE_LIMIT_USER: '1000/1h',
    });
    const key = { 'x-api-key': secret ?? '' };
    expect(
      (await graphql(router.graphqlUrl, '{ me { id } }', {}, key)).headers.get('x-ratelimit-limit'),
    ).toBe('2');
    await graphql(router.graphqlUrl, '{ me { id } }', {}, key);
    expect(errorCodes(await graphql(router.graphqlUrl, '{ me { id } }', {}, key))).toEqual(['RATE_LIMITED']);
    // The owner's own budget is separate.
    expect(
      (await graphql(router.graphqlUrl, '{ me { id } }', {}, bearer(file.admin.accessToken))).status,
    ).toBe(200);
  });
});

describe('cost analysis', () => {
  const USERS = '{ users(first: 50) { edges { node { id apiKeys { id } } } } }';

  it('refuses operations above the maximum with their estimate', async () => {
    const router = await file.stack.startRouter({ MAX_COST: '20' });
    const before = file.stack.subgraphGraphQLRequests();
    const result = await graphql(router.graphqlUrl, USERS, {}, bearer(file.admin.accessToken));
    expect(errorCodes(result)).toEqual(['COST_LIMIT_EXCEEDED']);
    const cost = result.errors?.[0]?.extensions?.['cost'] as { estimated: number; max: number };
    expect(cost.max).toBe(20);
    expect(cost.estimated).toBeGreaterThan(20);
    expect(file.stack.subgraphGraphQLRequests()).toBe(before);
  });

  it('only measures in measure mode, and reports estimated, actual and remaining on request', async () => {
    const router = await file.stack.startRouter({ MAX_COST: '20', COST_MODE: 'measure' });
    const result = await graphql(
      router.graphqlUrl,
      USERS,
      {},
      { ...bearer(file.admin.accessToken), 'x-include-cost': 'true' },
    );
    expect(result.errors).toBeUndefined();
    const cost = result.extensions?.['cost'] as {
      estimated: number;
      actual: number;
      max: number;
      remaining: number;
    };
    expect(cost.estimated).toBeGreaterThan(20);
    // Few users exist: the actual cost, counted from the response, is below the estimate.
    expect(cost.actual).toBeGreaterThan(0);
    expect(cost.actual).toBeLessThan(cost.estimated);
    expect(cost.max).toBe(20);
    expect(typeof cost.remaining).toBe('number');
    const without = await graphql(router.graphqlUrl, USERS, {}, bearer(file.admin.accessToken));
    expect(without.extensions?.['cost']).toBeUndefined();
  });
});

/** A private redis-server the test may kill. */
async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.end() && true));
      socket.once('error', () => resolve(false));
    });
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('Redis unavailable', () => {
  it('fails open: a local limiter takes over and still enforces the budget', async () => {
    const redis = await startPrivateRedis();
    try {
      const router = await file.stack.startRouter({
        REDIS_URL: redis.url,
        RATE_LIMIT_ANONYMOUS: '5/1m',
        RATE_LIMIT_FAILURE_MODE: 'open',
      });
      expect((await graphql(router.graphqlUrl, '{ me { id } }')).status).toBe(200);
      await redis.stop();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1)
        statuses.push((await graphql(router.graphqlUrl, '{ me { id } }')).status);
      // The local window starts empty: five pass, the rest are limited locally.
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429]);
    } finally {
      await redis.stop();
    }
  });

  it('fails closed: 503 RATE_LIMITER_UNAVAILABLE and no subgraph call', async () => {
    const redis = await startPrivateRedis();
    try {
      const router = await file.stack.startRouter({
        REDIS_URL: redis.url,
        RATE_LIMIT_FAILURE_MODE: 'closed',
      });
      expect((await graphql(router.graphqlUrl, '{ me { id } }')).status).toBe(200);
      await redis.stop();
      const before = file.stack.subgraphGraphQLRequests();
      const refused = await graphql(router.graphqlUrl, '{ me { id } }');
      expect(refused.status).toBe(503);
      expect(errorCodes(refused)).toEqual(['RATE_LIMITER_UNAVAILABLE']);
      expect(refused.headers.get('retry-after')).toBeTruthy();
      expect(file.stack.subgraphGraphQLRequests()).toBe(before);
    } finally {
      await redis.stop();
    }
  });
});
