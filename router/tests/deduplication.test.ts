import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphql, waitFor, type GraphQLResult } from '@cap/testkit';
import type { RunningRouter } from '../src/index.js';
import { GatedSubgraph } from './gatedSubgraph.js';
import { startStack, type Stack } from './harness.js';

/**
 * Inflight deduplication (docs/adr/0022-router-throughput.md): identical queries, and identical subgraph fetches,
 * of one identity share one execution while in flight; different identities (tokens, users, scopes) and
 * mutations never share. Identity's subgraph sits behind a gate that holds requests, so several are in flight
 * at once and what reached the subgraph can be counted.
 */
let stack: Stack;
let gate: GatedSubgraph;
let admin: { accessToken: string; userId: string };
let viewer: { accessToken: string; userId: string };
/** The admin's own API key, narrowed to reading: the same user with other scopes. */
let narrowKey: string;
const ME = '{ me { id email role } }';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
type Me = { me: { id: string; email: string; role: string } | null };

beforeAll(async () => {
  stack = await startStack();
  admin = await stack.loginAdmin();
  gate = await GatedSubgraph.start(stack.identity.subgraph.graphqlUrl);
  const created = await stack.query<{ createUser: { id: string } }>(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
    {
      input: {
        email: 'dedup-viewer@example.com',
        password: 'viewer-password-1',
        displayName: 'V',
        role: 'VIEWER',
      },
    },
    bearer(admin.accessToken),
  );
  const login = await stack.query<{ login: { accessToken: string } }>(
    'mutation { login(input: { email: "dedup-viewer@example.com", password: "viewer-password-1" }) { accessToken } }',
  );
  viewer = { accessToken: login.data?.login.accessToken ?? '', userId: created.data?.createUser.id ?? '' };
  const key = await stack.query<{ createApiKey: { secret: string } }>(
    'mutation { createApiKey(input: { name: "narrow", scopes: ["graph:read"] }) { secret } }',
    {},
    bearer(admin.accessToken),
  );
  narrowKey = key.data?.createApiKey.secret ?? '';
  expect(viewer.accessToken).not.toBe('');
  expect(narrowKey).not.toBe('');
}, 120_000);
afterAll(async () => {
  await gate?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
});
beforeEach(() => gate.open());

/** A router whose identity fetches pass the gate. */
const gatedRouter = (env: Record<string, string> = {}): Promise<RunningRouter> =>
  stack.startRouter({ SUBGRAPH_IDENTITY_URL: gate.url, ...env });

/**
 * Sends `first`, waits until its fetch is held, sends `second`, waits for `joined` (the second joined the first)
 * or for both fetches to be held (they did not share), then opens the gate.
 */
async function inFlightTogether(
  first: () => Promise<GraphQLResult<Me>>,
  second: () => Promise<GraphQLResult<Me>>,
  joined: () => boolean,
): Promise<{ results: [GraphQLResult<Me>, GraphQLResult<Me>]; reached: number }> {
  gate.close();
  const before = gate.received.length;
  const one = first();
  await waitFor(() => gate.held === 1, { message: 'the first request never reached the subgraph' });
  const two = second();
  await waitFor(() => joined() || gate.held === 2, {
    message: 'the second request neither joined nor arrived',
  });
  gate.open();
  const results: [GraphQLResult<Me>, GraphQLResult<Me>] = [await one, await two];
  return { results, reached: gate.received.length - before };
}

describe('whole-operation deduplication', () => {
  it('two identical queries of one caller share one execution; each is still charged its budget', async () => {
    const router = await gatedRouter();
    const ask = () => graphql<Me>(router.graphqlUrl, ME, {}, bearer(admin.accessToken));
    const { results, reached } = await inFlightTogether(
      ask,
      ask,
      () => router.deduplicated().operations === 1,
    );
    expect(reached).toBe(1);
    expect(router.deduplicated().operations).toBe(1);
    for (const result of results) {
      expect(result.errors).toBeUndefined();
      expect(result.data?.me?.id).toBe(admin.userId);
    }
    const remaining = results.map((result) => Number(result.headers.get('x-ratelimit-remaining')));
    expect(new Set(remaining).size).toBe(2);
  });

  it('never shares between different tokens, users or scopes: each gets its own answer', async () => {
    const router = await gatedRouter();
    const callers: Array<[string, Record<string, string>, string]> = [
      ['viewer', bearer(viewer.accessToken), viewer.userId],
      ['narrowed API key of the same admin', { 'x-api-key': narrowKey }, admin.userId],
    ];
    for (const [name, headers, expectedId] of callers) {
      const { results, reached } = await inFlightTogether(
        () => graphql<Me>(router.graphqlUrl, ME, {}, bearer(admin.accessToken)),
        () => graphql<Me>(router.graphqlUrl, ME, {}, headers),
        () => router.deduplicated().operations > 0,
      );
      expect(reached, name).toBe(2);
      expect(results[0].data?.me?.id, name).toBe(admin.userId);
      expect(results[1].data?.me?.id, name).toBe(expectedId);
    }
    expect(router.deduplicated()).toEqual({ operations: 0, fetches: 0 });
  });

  it('never shares between different Accept headers: each gets the content type it asked for', async () => {
    const router = await gatedRouter();
    const ask = (accept: string) => () =>
      graphql<Me>(router.graphqlUrl, ME, {}, { ...bearer(admin.accessToken), accept });
    // Two executions; their identical identity fetch may still be shared (SUBGRAPH_DEDUPLICATION).
    const { results } = await inFlightTogether(
      ask('application/json'),
      ask('application/graphql-response+json'),
      () => router.deduplicated().operations > 0 || router.deduplicated().fetches > 0,
    );
    expect(results[0].headers.get('content-type')).toMatch(/^application\/json/);
    expect(results[1].headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(results.map((result) => result.data?.me?.id)).toEqual([admin.userId, admin.userId]);
    expect(router.deduplicated().operations).toBe(0);
  });

  it('never deduplicates mutations: two identical ones both run', async () => {
    const router = await gatedRouter();
    const create = () =>
      graphql<Me>(
        router.graphqlUrl,
        'mutation { createApiKey(input: { name: "twin", scopes: ["graph:read"] }) { apiKey { id } } }',
        {},
        bearer(admin.accessToken),
      );
    const { results, reached } = await inFlightTogether(
      create,
      create,
      () => router.deduplicated().operations > 0,
    );
    expect(reached).toBe(2);
    const ids = results.map(
      (result) =>
        (result.data as unknown as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id,
    );
    expect(new Set(ids).size).toBe(2);
    expect(router.deduplicated()).toEqual({ operations: 0, fetches: 0 });
  });
});

describe('subgraph fetch deduplication', () => {
  it('shares an identical fetch of one caller, never of two', async () => {
    const router = await gatedRouter({ OPERATION_DEDUPLICATION: 'false' });
    const asAdmin = () => graphql<Me>(router.graphqlUrl, ME, {}, bearer(admin.accessToken));
    const same = await inFlightTogether(asAdmin, asAdmin, () => router.deduplicated().fetches === 1);
    expect(same.reached).toBe(1);
    expect(same.results.map((result) => result.data?.me?.id)).toEqual([admin.userId, admin.userId]);
    const different = await inFlightTogether(
      asAdmin,
      () => graphql<Me>(router.graphqlUrl, ME, {}, bearer(viewer.accessToken)),
      () => router.deduplicated().fetches > 1,
    );
    expect(different.reached).toBe(2);
    expect(different.results.map((result) => result.data?.me?.id)).toEqual([admin.userId, viewer.userId]);
    expect(router.deduplicated()).toEqual({ operations: 0, fetches: 1 });
  });

  it('sends every fetch on its own when both levers are off', async () => {
    const router = await gatedRouter({ OPERATION_DEDUPLICATION: 'false', SUBGRAPH_DEDUPLICATION: 'false' });
    const asAdmin = () => graphql<Me>(router.graphqlUrl, ME, {}, bearer(admin.accessToken));
    const { reached } = await inFlightTogether(asAdmin, asAdmin, () => false);
    expect(reached).toBe(2);
    expect(router.deduplicated()).toEqual({ operations: 0, fetches: 0 });
  });
});
