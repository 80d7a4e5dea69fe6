import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorCodes, graphql, type GraphQLResult } from '@cap/testkit';
import { startStack, type Stack } from './harness.js';

/**
 * Field-level authorization at the router, from the directives composed into the supergraph, against the real
 * router and subgraphs: fragments, aliases, interfaces, entity joins, @skip/@include, filter and reject modes.
 */
let stack: Stack;
let admin: { accessToken: string; userId: string };
let viewer: { accessToken: string };
/** An admin's API key narrowed to reading: authenticated, but without chat:write, tasks:* or apikeys:manage. */
let narrowKey: Record<string, string>;
let conversationId: string;
const MISSING_TASK = '00000000-0000-4000-8000-000000000000';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack();
  admin = await stack.loginAdmin();
  const asAdmin = bearer(admin.accessToken);
  const created = await stack.query(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
    {
      input: {
        email: 'viewer@example.com',
        password: 'viewer-password-1',
        displayName: 'Vi Ewer',
        role: 'VIEWER',
      },
    },
    asAdmin,
  );
  expect(created.errors).toBeUndefined();
  const login = await stack.query<{ login: { accessToken: string } }>(
    'mutation { login(input: { email: "viewer@example.com", password: "viewer-password-1" }) { accessToken } }',
  );
  viewer = { accessToken: login.data?.login.accessToken ?? '' };
  const key = await stack.query<{ createApiKey: { secret: string } }>(
    'mutation { createApiKey(input: { name: "reader", scopes: ["graph:read", "chat:read"] }) { secret } }',
    {},
    asAdmin,
  );
  narrowKey = { 'x-api-key': key.data?.createApiKey.secret ?? '' };
  const conversation = await stack.query<{ createConversation: { id: string } }>(
    'mutation { createConversation(input: { title: "authorization" }) { id } }',
    {},
    asAdmin,
  );
  conversationId = conversation.data?.createConversation.id ?? '';
  const posted = await stack.query(
    'mutation($c: ID!) { postMessage(input: { conversationId: $c, body: "hello" }) { id } }',
    { c: conversationId },
    asAdmin,
  );
  expect(posted.errors).toBeUndefined();
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

/** Runs `attempt` and returns its result with how many subgraph GraphQL requests it caused. */
async function counting<T>(attempt: () => Promise<T>): Promise<{ result: T; subgraphCalls: number }> {
  const before = stack.subgraphGraphQLRequests();
  const result = await attempt();
  return { result, subgraphCalls: stack.subgraphGraphQLRequests() - before };
}

function denials(result: GraphQLResult): Array<{ path: unknown; code: unknown; requirement: unknown }> {
  return (result.errors ?? []).map((error) => ({
    path: error.path,
    code: error.extensions?.['code'],
    requirement: error.extensions?.['requirement'],
  }));
}

describe('filter mode (default)', () => {
  it('removes an unauthorized field, runs the rest, and reports the field with its path', async () => {
    const result = await graphql(
      stack.router.graphqlUrl,
      `{ me { id role } task(id: "${MISSING_TASK}") { id title } }`,
      {},
      narrowKey,
    );
    expect(result.data).toEqual({ me: { id: admin.userId, role: 'ADMIN' }, task: null });
    expect(denials(result)).toEqual([{ path: ['task'], code: 'FORBIDDEN', requirement: 'Query.task' }]);
  });

  it('answers UNAUTHENTICATED to anonymous callers, and calls no subgraph when nothing is left', async () => {
    const { result, subgraphCalls } = await counting(() =>
      stack.query(`{ mine: node(id: "${MISSING_TASK}") { id } }`),
    );
    expect(result.data).toEqual({ mine: null });
    expect(denials(result)).toEqual([{ path: ['mine'], code: 'UNAUTHENTICATED', requirement: 'Query.node' }]);
    expect(subgraphCalls).toBe(0);
  });

  it('follows GraphQL null propagation when the removed field is non-null', async () => {
    const { result, subgraphCalls } = await counting(() =>
      graphql(
        stack.router.graphqlUrl,
        '{ me { id } users(first: 1) { edges { node { id } } } }',
        {},
        bearer(viewer.accessToken),
      ),
    );
    // `users` is non-null: its null reaches the root, as it would had the subgraph refused it.
    expect(result.data).toBeNull();
    expect(denials(result)).toEqual([{ path: ['users'], code: 'FORBIDDEN', requirement: 'Query.users' }]);
    expect(subgraphCalls).toBe(1);
  });

  it('checks fields reached through a named fragment, an alias and an entity join into another subgraph', async () => {
    const query = `
      query($id: ID!) { conversation(id: $id) { ...Thread } }
      fragment Thread on Conversation {
        messages(first: 5) { edges { node { body author { user { displayName keys: apiKeys { id } } } } } }
      }`;
    const result = await graphql(stack.router.graphqlUrl, query, { id: conversationId }, narrowKey);
    const node = (result.data as { conversation: { messages: { edges: Array<{ node: unknown }> } } })
      .conversation.messages.edges[0]?.node;
    // `apiKeys` is non-null: the null lands on the nullable `user`; the message itself is served.
    expect(node).toEqual({ body: 'hello', author: { user: null } });
    expect(denials(result)).toEqual([
      {
        path: ['conversation', 'messages', 'edges', 'node', 'author', 'user', 'keys'],
        code: 'FORBIDDEN',
        requirement: 'User.apiKeys',
      },
    ]);
    // With the scope, the same operation resolves the entity field in identity.
    const full = await graphql(
      stack.router.graphqlUrl,
      query,
      { id: conversationId },
      bearer(admin.accessToken),
    );
    expect(full.errors).toBeUndefined();
    expect(JSON.stringify(full.data)).toContain('"keys":[');
  });

  it('checks fields reached through a fragment on an interface', async () => {
    const query = `
      query($id: ID!) { node(id: $id) { id ...Details } }
      fragment Details on Node { ... on User { displayName apiKeys { id } } }`;
    const result = await graphql(stack.router.graphqlUrl, query, { id: admin.userId }, narrowKey);
    expect(result.data).toEqual({ node: null });
    expect(denials(result)).toEqual([
      { path: ['node', 'apiKeys'], code: 'FORBIDDEN', requirement: 'User.apiKeys' },
    ]);
    const allowed = await graphql(
      stack.router.graphqlUrl,
      query,
      { id: admin.userId },
      bearer(admin.accessToken),
    );
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data).toMatchObject({ node: { id: admin.userId, apiKeys: expect.any(Array) } });
  });

  it('honours @skip and @include with the request variables', async () => {
    const query = `query($skip: Boolean!, $include: Boolean!) {
      me { id }
      task(id: "${MISSING_TASK}") @skip(if: $skip) { id }
      again: task(id: "${MISSING_TASK}") @include(if: $include) { id }
    }`;
    const skipped = await graphql(stack.router.graphqlUrl, query, { skip: true, include: false }, narrowKey);
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data).toEqual({ me: { id: admin.userId } });
    const kept = await graphql(stack.router.graphqlUrl, query, { skip: false, include: true }, narrowKey);
    expect(denials(kept).map((denial) => denial.path)).toEqual([['task'], ['again']]);
  });

  it('drops the variables and fragments only removed fields used, so the rest still validates', async () => {
    const query = `query($task: ID!) { me { id } task(id: $task) { ...TaskFields } }
      fragment TaskFields on CodingTask { id heading: title }`;
    const anonymous = await graphql(
      stack.router.graphqlUrl,
      `
        mutation ($title: String!) {
          createConversation(input: { title: $title }) {
            id
          }
        }
      `,
      { title: 'x' },
    );
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const result = await graphql(stack.router.graphqlUrl, query, { task: MISSING_TASK }, narrowKey);
    expect(result.data).toEqual({ me: { id: admin.userId }, task: null });
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
  });

  it('refuses mutations the role does not allow before any subgraph is called', async () => {
    const { result, subgraphCalls } = await counting(() =>
      graphql(
        stack.router.graphqlUrl,
        'mutation { createConversation(input: { title: "nope" }) { id } }',
        {},
        bearer(viewer.accessToken),
      ),
    );
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
    expect(result.data).toBeNull();
    expect(subgraphCalls).toBe(0);
  });

  it('evaluates @policy: API keys cannot create API keys, whatever their scopes', async () => {
    const key = await stack.query<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "key-maker", scopes: ["apikeys:manage"] }) { secret } }',
      {},
      bearer(admin.accessToken),
    );
    const result = await graphql(
      stack.router.graphqlUrl,
      'mutation { createApiKey(input: { name: "child", scopes: ["graph:read"] }) { secret } }',
      {},
      { 'x-api-key': key.data?.createApiKey.secret ?? '' },
    );
    expect(denials(result)).toEqual([
      { path: ['createApiKey'], code: 'FORBIDDEN', requirement: 'Mutation.createApiKey' },
    ]);
  });
});

describe('reject mode', () => {
  it('refuses the whole operation and calls no subgraph', async () => {
    const router = await stack.startRouter({ AUTHORIZATION_MODE: 'reject' });
    const { result, subgraphCalls } = await counting(() =>
      graphql(router.graphqlUrl, `{ me { id } task(id: "${MISSING_TASK}") { id } }`, {}, narrowKey),
    );
    expect(result.data).toBeUndefined();
    expect(denials(result)).toEqual([{ path: ['task'], code: 'FORBIDDEN', requirement: 'Query.task' }]);
    expect(subgraphCalls).toBe(0);
    const allowed = await graphql(router.graphqlUrl, '{ me { id } }', {}, narrowKey);
    expect(allowed.data).toEqual({ me: { id: admin.userId } });
  });
});

describe('subscriptions', () => {
  /** Starts one subscription over graphql-ws and resolves with the errors it ends with (or the first event). */
  async function subscribeOnce(
    query: string,
    connectionParams: Record<string, string>,
  ): Promise<{ errors?: unknown; data?: unknown }> {
    const client = createClient({
      url: stack.router.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
    });
    try {
      return await new Promise((resolve) => {
        client.subscribe(
          { query },
          {
            next: (value) => resolve({ data: value.data, errors: value.errors }),
            error: (errors) => resolve({ errors }),
            complete: () => resolve({}),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  it('are checked against the same directives when they start', async () => {
    const { result, subgraphCalls } = await counting(() =>
      subscribeOnce(`subscription { taskUpdated(taskId: "${MISSING_TASK}") { id } }`, narrowKey),
    );
    expect(result.errors).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'FORBIDDEN', requirement: 'Subscription.taskUpdated' }),
      }),
    ]);
    expect(subgraphCalls).toBe(0);
  });
});
