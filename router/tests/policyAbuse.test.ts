import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { errorCodes, graphql, type GraphQLResult } from '@cap/testkit';
import { TEST_REDIS_URL, useStackWithAdmin } from './harness.js';
import { fanOut } from './policy/generateDocuments.js';

/**
 * Anonymous abuse of the router's policies: documents whose fragments fan out, forged client addresses, and
 * refusals that must still show the caller's budget.
 */
const file = useStackWithAdmin();

const bearer = () => ({ authorization: `Bearer ${file.admin.accessToken}` });
const prefix = () => `test:rl:${randomUUID()}:`;
/** Generous bound for "answered promptly" on a shared machine; the old walks took seconds to forever. */
const PROMPT_MS = 1_000;

describe('fan-out documents through /graphql', () => {
  const documents: Array<[string, string]> = [
    ['chain of 2 spreads, 60 deep', fanOut.chain(2, 60)],
    ['chain of 8 spreads, 40 deep', fanOut.chain(8, 40)],
    ['chain of 40 spreads, 12 deep', fanOut.chain(40, 12)],
    ['40 stacked diamonds', fanOut.diamonds(40)],
    ['sliced fields beside 40 spreads, 12 deep', fanOut.nested(40, 12)],
  ];

  it('answers every one anonymously and promptly, while /health stays prompt and the event loop free', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let healthSlowest = 0;
    let polling = true;
    const health = (async () => {
      // Bounded: stops when the documents are answered, at most 500 polls.
      for (let i = 0; i < 500 && polling; i += 1) {
        const started = performance.now();
        const response = await fetch(`${file.stack.router.url}/health`);
        expect(response.status).toBe(200);
        healthSlowest = Math.max(healthSlowest, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      for (const [name, query] of documents) {
        for (let round = 0; round < 3; round += 1) {
          const started = performance.now();
          // A fresh text each round: the analysis cache must not be what makes it fast.
          const result = await graphql(
            file.stack.router.graphqlUrl,
            `${query} fragment Extra${round}${name.length} on User { id }`,
          );
          const took = performance.now() - started;
          expect({ name, took: took < PROMPT_MS }).toEqual({ name, took: true });
          expect(errorCodes(result)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
        }
      }
    } finally {
      polling = false;
      await health;
      delay.disable();
    }
    expect(healthSlowest).toBeLessThan(PROMPT_MS);
    expect(delay.max / 1e6).toBeLessThan(PROMPT_MS);
  });
});

describe('rate-limit headers', () => {
  const budgetOf = (result: { headers: Headers }) => ({
    limit: result.headers.get('x-ratelimit-limit'),
    remaining: result.headers.get('x-ratelimit-remaining'),
  });

  it('carries the budget on every refusal by the policies, each charged the minimum of 1', async () => {
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_USER: '100/1h',
      MAX_COST: '50',
      AUTHORIZATION_MODE: 'reject',
    });
    const refusals: Array<[string, string, Record<string, unknown>, string]> = [
      [
        'operation limits',
        `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
        {},
        'OPERATION_LIMIT_EXCEEDED',
      ],
      ['validation', '{ me { nope } }', {}, 'GRAPHQL_VALIDATION_FAILED'],
      [
        'variables',
        'query($n: Int!) { users(first: $n) { edges { node { id } } } }',
        { n: 'x' },
        'BAD_USER_INPUT',
      ],
      ['cost', '{ users(first: 100) { edges { node { id } } } }', {}, 'COST_LIMIT_EXCEEDED'],
    ];
    let expected = 100;
    for (const [name, query, variables, code] of refusals) {
      const refused = await graphql(router.graphqlUrl, query, variables, bearer());
      expected -= 1;
      expect({ name, codes: errorCodes(refused), budget: budgetOf(refused) }).toEqual({
        name,
        codes: [code],
        budget: { limit: '100', remaining: String(expected) },
      });
    }
    // Authorization in reject mode, for a caller who may not read the field.
    const anonymousRouter = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_ANONYMOUS: '10/1m',
      AUTHORIZATION_MODE: 'reject',
    });
    const denied = await graphql(anonymousRouter.graphqlUrl, '{ apiKeys { id } }');
    expect(errorCodes(denied)).toEqual(['UNAUTHENTICATED']);
    expect(budgetOf(denied)).toEqual({ limit: '10', remaining: '9' });
  });

  it('gives a batch the most restrictive budget state across its operations', async () => {
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_USER: '100/1h',
      MAX_BATCH_SIZE: '5',
    });
    const batch = async (items: unknown[]) => {
      const response = await fetch(router.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer() },
        body: JSON.stringify(items),
      });
      return { headers: response.headers, parts: (await response.json()) as GraphQLResult[] };
    };
    // The last operation is malformed (refused before any budget lookup): the budget still shows.
    const first = await batch([
      { query: '{ users(first: 5) { edges { node { id } } } }' },
      { query: '{ me { id } }' },
      { variables: {} },
    ]);
    expect(errorCodes(first.parts[2] as GraphQLResult)).toEqual(['BAD_USER_INPUT']);
    const afterFirst = Number(first.headers.get('x-ratelimit-remaining'));
    expect(afterFirst).toBeLessThan(99);
    expect(first.headers.get('x-ratelimit-limit')).toBe('100');
    // Over budget in the middle: the batch shows the lowest remaining across its parts, not the last part's.
    const second = await batch([
      { query: '{ me { id } }' },
      {
        query: `{ ${Array.from({ length: 15 }, (_, i) => `u${i}: users(first: 10) { edges { node { id } } }`).join(' ')} }`,
      },
      { query: '{ x: me { id } }' },
    ]);
    expect(errorCodes(second.parts[1] as GraphQLResult)).toEqual(['RATE_LIMITED']);
    const remaining = Number(second.headers.get('x-ratelimit-remaining'));
    expect(remaining).toBe(afterFirst - 2);
    expect(second.headers.get('retry-after')).toBeNull();
  });
});

describe('client addresses behind a proxy', () => {
  it('does not give a forged left-most X-Forwarded-For entry a fresh anonymous budget', async () => {
    const router = await file.stack.startRouter({
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix(),
      RATE_LIMIT_ANONYMOUS: '3/1m',
      TRUST_PROXY: 'true',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      // The proxy (this test's loopback socket) appended the address it saw; the client wrote the rest.
      const forged = `203.0.113.${i + 1}, 10.${i}.0.1`;
      const result = await graphql(
        router.graphqlUrl,
        '{ me { id } }',
        {},
        { 'x-forwarded-for': `${forged}, 198.51.100.7` },
      );
      statuses.push(result.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    // Another real client behind the same proxy has its own budget.
    const other = await graphql(
      router.graphqlUrl,
      '{ me { id } }',
      {},
      { 'x-forwarded-for': '198.51.100.8' },
    );
    expect(other.status).toBe(200);
  });
});
