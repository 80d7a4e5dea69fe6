import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, graphql, seededRandom, waitFor } from '@cap/testkit';
import { ALL_SCOPES, type Scope } from '@cap/runtime';
import { startStack, type Stack } from './harness.js';
import { LONG_API_KEY_CACHE_SECONDS } from './revocationScenario.js';

/**
 * The cache of policy decisions (docs/adr/0022-router-throughput.md): a variable-free operation's decision is
 * reused only for callers with the same rights, and never skips what is decided per request: authentication
 * (revoked credentials), the budget, and everything that reads variables (coerced with their defaults).
 */
let stack: Stack;
let admin: { accessToken: string; userId: string };
const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const USERS = '{ users(first: 1) { edges { node { id } } } }';
const CONVERSATIONS = '{ conversations(first: 1) { edges { cursor } } }';

beforeAll(async () => {
  stack = await startStack(
    { API_KEY_CACHE_TTL_SECONDS: LONG_API_KEY_CACHE_SECONDS },
    { revocationBus: (stackBus) => stackBus },
  );
  admin = await stack.loginAdmin();
}, 120_000);
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

async function apiKey(scopes: readonly Scope[]): Promise<{ secret: string; id: string }> {
  const created = await stack.query<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    'mutation($scopes: [String!]!) { createApiKey(input: { name: "cache", scopes: $scopes }) { secret apiKey { id } } }',
    { scopes },
    bearer(admin.accessToken),
  );
  expect(created.errors).toBeUndefined();
  return { secret: created.data!.createApiKey.secret, id: created.data!.createApiKey.apiKey.id };
}

describe('decisions cached by document and rights', () => {
  it('never lets an under-scoped caller through: generated scope sets, cached decisions interleaved', async () => {
    const next = seededRandom(15);
    const callers: Array<{ scopes: Scope[]; headers: Record<string, string> }> = [
      { scopes: [...ALL_SCOPES], headers: bearer(admin.accessToken) },
      { scopes: [], headers: {} },
    ];
    for (let index = 0; index < 6; index += 1) {
      const scopes = ALL_SCOPES.filter(() => next() < 0.5);
      // Half of the keys get one of the two scopes under test, so both outcomes occur.
      if (index % 2 === 0 && !scopes.includes('users:manage')) scopes.push('users:manage');
      if (scopes.length === 0) scopes.push('graph:read');
      callers.push({ scopes, headers: { 'x-api-key': (await apiKey(scopes)).secret } });
    }
    const checks = callers.flatMap((caller) => [
      { caller, query: USERS, needs: 'users:manage' as Scope },
      { caller, query: CONVERSATIONS, needs: 'chat:read' as Scope },
    ]);
    // Every check twice, in a shuffled order: later ones run on decisions another caller's request cached.
    const order = [...checks, ...checks].sort(() => next() - 0.5);
    for (const { caller, query, needs } of order) {
      const result = await graphql(stack.router.graphqlUrl, query, {}, caller.headers);
      const label = `${query} as [${caller.scopes.join(' ')}]`;
      if (caller.scopes.includes(needs)) {
        expect(result.errors, label).toBeUndefined();
        expect(result.data, label).not.toBeNull();
      } else {
        expect(
          errorCodes(result).some((code) => code === 'FORBIDDEN' || code === 'UNAUTHENTICATED'),
          label,
        ).toBe(true);
        expect(result.data ?? null, label).toBeNull();
      }
    }
  });

  it('still charges the budget on every request of a cached decision', async () => {
    const router = await stack.startRouter({
      REDIS_URL: redisUrl,
      RATE_LIMIT_KEY_PREFIX: `test:rl:${randomUUID()}:`,
      RATE_LIMIT_USER: '3/1m',
    });
    const statuses: number[] = [];
    for (let index = 0; index < 4; index += 1)
      statuses.push(
        (await graphql(router.graphqlUrl, '{ me { id } }', {}, bearer(admin.accessToken))).status,
      );
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('refuses revoked credentials although their decision is cached', async () => {
    const key = await apiKey(['graph:read']);
    const ask = () => graphql(stack.router.graphqlUrl, '{ me { id } }', {}, { 'x-api-key': key.secret });
    expect((await ask()).data).toEqual({ me: { id: admin.userId } });
    expect((await ask()).status).toBe(200);
    const revoked = await stack.query(
      'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      { id: key.id },
      bearer(admin.accessToken),
    );
    expect(revoked.errors).toBeUndefined();
    const refused = await waitFor(async () => {
      const result = await ask();
      return result.status === 401 ? result : undefined;
    });
    expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('variables are coerced per request, defaults applied', () => {
  const PAGE = 'query Page($n: Int = 2) { users(first: $n) { edges { node { id } } } }';
  const estimate = async (url: string, variables: Record<string, unknown>) => {
    const result = await graphql(url, PAGE, variables, {
      ...bearer(admin.accessToken),
      'x-include-cost': 'true',
    });
    return {
      result,
      estimated: (result.extensions?.['cost'] as { estimated: number } | undefined)?.estimated,
    };
  };

  it('estimates the cost of each request from its own variables and the defaults', async () => {
    const omitted = await estimate(stack.router.graphqlUrl, {});
    const two = await estimate(stack.router.graphqlUrl, { n: 2 });
    const one = await estimate(stack.router.graphqlUrl, { n: 1 });
    const many = await estimate(stack.router.graphqlUrl, { n: 80 });
    expect(omitted.estimated).toBe(two.estimated);
    expect(one.estimated).toBeLessThan(two.estimated!);
    expect(many.estimated).toBeGreaterThan(two.estimated!);
    // Under MAX_COST at the default's estimate: the same document passes or is refused by its variables.
    const router = await stack.startRouter({ MAX_COST: String(two.estimated) });
    expect((await estimate(router.graphqlUrl, {})).result.status).toBe(200);
    expect(errorCodes((await estimate(router.graphqlUrl, { n: 80 })).result)).toEqual([
      'COST_LIMIT_EXCEEDED',
    ]);
    expect((await estimate(router.graphqlUrl, {})).result.status).toBe(200);
    expect(errorCodes((await estimate(router.graphqlUrl, { n: 80 })).result)).toEqual([
      'COST_LIMIT_EXCEEDED',
    ]);
  });

  it('authorizes each request with its own @skip variables (defaults applied)', async () => {
    const narrow = { 'x-api-key': (await apiKey(['graph:read'])).secret };
    const query =
      'query Maybe($hide: Boolean = true) { me { id } users(first: 1) @skip(if: $hide) { edges { node { id } } } }';
    for (let round = 0; round < 2; round += 1) {
      const hidden = await graphql(stack.router.graphqlUrl, query, {}, narrow);
      expect(hidden.errors).toBeUndefined();
      expect(hidden.data).toEqual({ me: { id: admin.userId } });
      const shown = await graphql(stack.router.graphqlUrl, query, { hide: false }, narrow);
      expect(errorCodes(shown)).toContain('FORBIDDEN');
    }
  });
});
