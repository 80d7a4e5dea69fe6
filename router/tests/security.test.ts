import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, graphql, type GraphQLResult } from '@cap/testkit';
import type { RunningRouter } from '../src/index.js';
import { startStack, type Stack } from './harness.js';

/**
 * The OWASP GraphQL cheat sheet against the real router and subgraphs: every attack gets a coded error and
 * nothing reaches a subgraph that should not.
 */
let stack: Stack;
let production: RunningRouter;
let admin: { accessToken: string };
beforeAll(async () => {
  stack = await startStack();
  // Production requires KAFKA_BROKERS (revocation); the harness gives this router no feed, so none is contacted.
  production = await stack.startRouter({ NODE_ENV: 'production', KAFKA_BROKERS: '127.0.0.1:9092' });
  admin = await stack.loginAdmin();
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Runs `attempt` and asserts no subgraph saw a GraphQL request meanwhile. */
async function withoutSubgraphs<T>(attempt: () => Promise<T>): Promise<T> {
  const before = stack.subgraphGraphQLRequests();
  const result = await attempt();
  expect(stack.subgraphGraphQLRequests()).toBe(before);
  return result;
}

function limitOf(result: GraphQLResult): unknown {
  return result.errors?.[0]?.extensions?.['limit'];
}

describe('operation limits (OWASP: batching and resource exhaustion)', () => {
  it('refuses 100+ aliases', async () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: me { id }`).join(' ');
    const result = await withoutSubgraphs(() => stack.query(`{ ${aliases} }`));
    expect(result.status).toBe(400);
    expect(errorCodes(result)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(result.errors?.[0]?.extensions).toMatchObject({ limit: 'aliases', max: 30, actual: 101 });
  });

  it('refuses 500 duplicated fields', async () => {
    const result = await withoutSubgraphs(() => stack.query(`{ me { ${'id '.repeat(500)} } }`));
    expect(errorCodes(result)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(limitOf(result)).toBe('fields');
  });

  it('refuses directive overloading', async () => {
    const result = await withoutSubgraphs(() =>
      stack.query(`{ me { id ${'@include(if: true) '.repeat(60)} } }`),
    );
    expect(errorCodes(result)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(limitOf(result)).toBe('directives');
  });

  it('refuses circular introspection (depth)', async () => {
    let nested = 'name';
    for (let i = 0; i < 12; i += 1) nested = `ofType { ${nested} }`;
    const result = await withoutSubgraphs(() =>
      stack.query(`{ __schema { types { fields { type { ${nested} } } } } }`),
    );
    expect(errorCodes(result)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(limitOf(result)).toBe('depth');
  });

  it('refuses deep fragment cycles without hanging', async () => {
    const result = await withoutSubgraphs(() =>
      stack.query(`{ me { ...A } } fragment A on User { id ...B } fragment B on User { id ...A }`),
    );
    expect(result.status).toBe(400);
    expect(errorCodes(result).length).toBeGreaterThan(0);
  });

  it('refuses too many root fields, tokens and oversized documents', async () => {
    const roots = Array.from({ length: 21 }, () => 'me { id }').join(' ');
    expect(limitOf(await withoutSubgraphs(() => stack.query(`query { ${roots} }`)))).toMatch(
      /rootFields|aliases|fields/,
    );
    const tokens = `{ me { id } ${'__typename '.repeat(2_100)} }`;
    expect(limitOf(await withoutSubgraphs(() => stack.query(tokens)))).toBe('tokens');
    const padded = `# ${'x'.repeat(40_000)}\n{ me { id } }`;
    expect(limitOf(await withoutSubgraphs(() => stack.query(padded)))).toBe('documentBytes');
  });

  it('refuses array batching by default', async () => {
    const response = await withoutSubgraphs(() =>
      fetch(stack.router.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]),
      }),
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as GraphQLResult;
    expect(errorCodes(body)).toEqual(['BATCHING_NOT_ALLOWED']);
  });

  it('runs bounded batches one by one when enabled, and refuses larger ones', async () => {
    const batching = await stack.startRouter({ MAX_BATCH_SIZE: '2' });
    const send = (count: number) =>
      fetch(batching.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(admin.accessToken) },
        body: JSON.stringify(Array.from({ length: count }, () => ({ query: '{ me { role } }' }))),
      });
    const ok = await send(2);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([
      { data: { me: { role: 'ADMIN' } } },
      { data: { me: { role: 'ADMIN' } } },
    ]);
    const tooMany = await withoutSubgraphs(() => send(3));
    expect(tooMany.status).toBe(400);
    expect(errorCodes((await tooMany.json()) as GraphQLResult)).toEqual(['BATCHING_NOT_ALLOWED']);
  });
});

describe('transport (OWASP: CSRF, GET and url-encoded mutations)', () => {
  const logout = 'mutation { logout(input: { refreshToken: "x" }) { revokedSessions } }';

  it('refuses a mutation over GET', async () => {
    const response = await withoutSubgraphs(() =>
      fetch(`${stack.router.graphqlUrl}?query=${encodeURIComponent(logout)}`, {
        headers: { 'apollo-require-preflight': 'true' },
      }),
    );
    expect(response.status).toBe(405);
    expect(errorCodes((await response.json()) as GraphQLResult)).toEqual(['BAD_REQUEST']);
  });

  it('refuses url-encoded and text bodies (simple cross-site requests)', async () => {
    for (const [contentType, body] of [
      ['application/x-www-form-urlencoded', `query=${encodeURIComponent(logout)}`],
      ['text/plain', JSON.stringify({ query: logout })],
      [
        'multipart/form-data; boundary=x',
        `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${logout}\r\n--x--`,
      ],
    ] as const) {
      const response = await withoutSubgraphs(() =>
        fetch(stack.router.graphqlUrl, { method: 'POST', headers: { 'content-type': contentType }, body }),
      );
      expect(response.status).toBe(415);
      expect(errorCodes((await response.json()) as GraphQLResult)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('refuses a GET query without a preflight header (CSRF prevention)', async () => {
    const response = await withoutSubgraphs(() =>
      fetch(`${stack.router.graphqlUrl}?query=${encodeURIComponent('{ me { id } }')}`),
    );
    expect(response.status).toBe(400);
    expect(errorCodes((await response.json()) as GraphQLResult)).toEqual(['BAD_REQUEST']);
  });

  it('refuses malformed GraphQL requests with a coded error', async () => {
    for (const body of [
      { query: 42 },
      { query: '{ me { id } }', variables: 'x' },
      { query: '{ me { id } }', operationName: 1 },
      {},
    ]) {
      const response = await withoutSubgraphs(() =>
        fetch(stack.router.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
      expect(response.status).toBe(400);
      expect(errorCodes((await response.json()) as GraphQLResult)).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe('introspection and suggestions in production', () => {
  const introspection = '{ __schema { queryType { name } } }';

  it('refuses introspection to anyone but ADMIN', async () => {
    const anonymous = await withoutSubgraphs(() => graphql(production.graphqlUrl, introspection));
    expect(errorCodes(anonymous)).toEqual(['INTROSPECTION_DISABLED']);
    const nested = await withoutSubgraphs(() =>
      graphql(
        production.graphqlUrl,
        `
          {
            me {
              id
            }
            ...F
          }
          fragment F on Query {
            __type(name: "User") {
              name
            }
          }
        `,
      ),
    );
    expect(errorCodes(nested)).toEqual(['INTROSPECTION_DISABLED']);
    const asAdmin = await graphql(production.graphqlUrl, introspection, {}, bearer(admin.accessToken));
    expect(asAdmin.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    // Development keeps it open for tooling.
    expect((await stack.query(introspection)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('hides field suggestions from non-admins', async () => {
    const result = await withoutSubgraphs(() => graphql(production.graphqlUrl, '{ mee { id } }'));
    expect(errorCodes(result)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(result.errors?.[0]?.message).not.toMatch(/Did you mean/);
    const development = await stack.query('{ mee { id } }');
    expect(development.errors?.[0]?.message).toMatch(/Did you mean "me"/);
  });

  it('serves no landing page in production', async () => {
    const response = await fetch(production.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toMatch(/sandbox/i);
  });
});

describe('unhandled and upstream errors (OWASP: error masking)', () => {
  let hung: Server;
  let hungUrl: string;
  beforeAll(async () => {
    // A subgraph that accepts connections and never answers.
    hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    hung.closeAllConnections();
    await new Promise((resolve) => hung.close(resolve));
  });

  it('times a slow subgraph out with SUBGRAPH_UNAVAILABLE and no upstream detail', async () => {
    const router = await stack.startRouter({ SUBGRAPH_CHAT_URL: hungUrl, SUBGRAPH_TIMEOUT_MS: '300' });
    const started = Date.now();
    const result = await graphql(
      router.graphqlUrl,
      '{ conversations(first: 1) { edges { cursor } } }',
      {},
      bearer(admin.accessToken),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(errorCodes(result)).toContain('SUBGRAPH_UNAVAILABLE');
    const text = JSON.stringify(result.errors);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toMatch(/stack|at [A-Za-z]+ \(/);
  });

  it('masks an unreachable subgraph the same way', async () => {
    const router = await stack.startRouter({ SUBGRAPH_CHAT_URL: 'http://127.0.0.1:9/graphql' });
    const result = await graphql(
      router.graphqlUrl,
      '{ conversations(first: 1) { edges { cursor } } }',
      {},
      bearer(admin.accessToken),
    );
    expect(errorCodes(result)).toContain('SUBGRAPH_UNAVAILABLE');
    expect(JSON.stringify(result)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
  });
});
