import { randomUUID } from 'node:crypto';
import { graphql, type GraphQLResult } from '@cap/testkit';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningRouter } from '../src/index.js';
import { SubscriptionCloseCode } from '../src/subscriptions/transport/closeCodes.js';
import type { Stack } from './harness.js';

/**
 * Credential revocation across router instances (ADR 0013), run over any bus: identity changes a role,
 * deactivates a user or revokes an API key through router A; router B, which cached nothing of it, refuses the
 * old credential within seconds and closes its open subscriptions (graphql-ws 4403, SSE with a last error).
 * The stack's routers run with a 10-minute API-key cache, so only the revocation feed can explain a prompt refusal.
 */

/** "Within a few seconds": generous for a loaded CI machine, far below the token lifetime and the key cache. */
const PROMPTLY_MS = 10_000;
/** The routers' API-key cache TTL in these tests (seconds): far longer than any wait below. */
export const LONG_API_KEY_CACHE_SECONDS = '600';

interface Session {
  userId: string;
  accessToken: string;
  refreshToken: string;
}

const ME = `{ me { id role } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken user { id role } } }`;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function ok<T = Record<string, any>>(result: Promise<GraphQLResult<T>>): Promise<T> {
  const { data, errors, status } = await result;
  if (!data || errors?.length)
    throw new Error(`unexpected answer (HTTP ${status}): ${JSON.stringify(errors)}`);
  return data;
}

/** Polls `attempt` until it returns a value, failing after PROMPTLY_MS with the last value seen. */
async function promptly<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + PROMPTLY_MS;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${PROMPTLY_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A graphql-ws socket with one running `messagePosted` subscription; `closed` resolves with the close frame. */
async function openSubscription(
  router: RunningRouter,
  credentials: Record<string, string>,
  conversationId: string,
): Promise<{ closed: Promise<{ code: number; reason: string }>; dispose(): void }> {
  const ws = new WebSocket(router.graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const acked = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString('utf8')) as { type: string }).type === 'connection_ack') resolve();
    });
    ws.once('close', (code) => reject(new Error(`closed with ${code} before connection_ack`)));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: credentials }));
  await acked;
  ws.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: {
        query: `subscription($c: ID!) { messagePosted(conversationId: $c) { id } }`,
        variables: { c: conversationId },
      },
    }),
  );
  return { closed, dispose: () => ws.terminate() };
}

/** An SSE subscription through the router; `text()` is what the stream carried when it ended. */
function openStream(
  router: RunningRouter,
  headers: Record<string, string>,
  conversationId: string,
): { ended: Promise<string>; abort(): void } {
  const controller = new AbortController();
  const ended = (async () => {
    const response = await fetch(`${router.url}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({
        query: `subscription($c: ID!) { messagePosted(conversationId: $c) { id } }`,
        variables: { c: conversationId },
      }),
      signal: controller.signal,
    });
    if (response.status !== 200)
      throw new Error(`SSE refused: HTTP ${response.status} ${await response.text()}`);
    return response.text();
  })();
  return { ended, abort: () => controller.abort() };
}

/** The user's tokens are refused by `router` (HTTP 401 UNAUTHENTICATED) with `message`. */
async function refusedPromptly(
  router: RunningRouter,
  headers: Record<string, string>,
  message: RegExp,
): Promise<void> {
  const refusal = await promptly('the old credential refused', async () => {
    const result = await graphql(router.graphqlUrl, ME, {}, headers);
    return result.status === 401 ? result : undefined;
  });
  expect(refusal.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  expect(refusal.errors?.[0]?.message).toMatch(message);
}

/**
 * Registers the scenario's tests. `stack()` is the running stack (started by the caller in `beforeAll`) whose
 * routers have revocation feeds and `API_KEY_CACHE_TTL_SECONDS=600`.
 */
export function revocationScenario(stack: () => Stack, timeoutMs: number): void {
  let routerB: RunningRouter;
  let adminToken: string;

  const setup = async (): Promise<void> => {
    if (routerB) return;
    routerB = await stack().startRouter();
    adminToken = (await stack().loginAdmin()).accessToken;
  };
  const asAdmin = (query: string, variables: Record<string, unknown>) =>
    ok(graphql(stack().router.graphqlUrl, query, variables, bearer(adminToken)));

  /** A new DEVELOPER, signed in through router A, with a conversation of their own to subscribe to. */
  const developer = async (): Promise<Session & { conversationId: string }> => {
    const email = `dev-${randomUUID()}@example.com`;
    const password = 'correct-horse-battery';
    await asAdmin(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { email, password, displayName: 'Dev', role: 'DEVELOPER' },
    });
    const { login } = await ok(graphql(stack().router.graphqlUrl, LOGIN, { e: email, p: password }));
    const { createConversation } = await ok(
      graphql(
        stack().router.graphqlUrl,
        `
          mutation {
            createConversation(input: { title: "revocation" }) {
              id
            }
          }
        `,
        {},
        bearer(login.accessToken),
      ),
    );
    return {
      userId: login.user.id,
      accessToken: login.accessToken,
      refreshToken: login.refreshToken,
      conversationId: createConversation.id,
    };
  };

  /** A `chat:read` API key named `name` the user creates through router A, and the header that presents it. */
  const apiKeyOf = async (
    user: Session,
    name: string,
  ): Promise<{ id: string; header: Record<string, string> }> => {
    const { createApiKey } = await ok(
      graphql(
        stack().router.graphqlUrl,
        `
          mutation ($name: String!) {
            createApiKey(input: { name: $name, scopes: ["chat:read"] }) {
              apiKey {
                id
              }
              secret
            }
          }
        `,
        { name },
        bearer(user.accessToken),
      ),
    );
    return { id: createApiKey.apiKey.id as string, header: { 'x-api-key': createApiKey.secret as string } };
  };

  it(
    'a role change refuses the old access token on another router instance within seconds, closes its subscriptions (4403, SSE error) and a refresh gets the new role',
    async () => {
      await setup();
      const user = await developer();
      expect((await ok(graphql(routerB.graphqlUrl, ME, {}, bearer(user.accessToken)))).me.role).toBe(
        'DEVELOPER',
      );
      const socket = await openSubscription(routerB, bearer(user.accessToken), user.conversationId);
      const stream = openStream(routerB, bearer(user.accessToken), user.conversationId);
      try {
        await asAdmin(`mutation($u: ID!) { changeUserRole(userId: $u, role: VIEWER) { id } }`, {
          u: user.userId,
        });

        await refusedPromptly(routerB, bearer(user.accessToken), /role changed/);
        const closed = await socket.closed;
        expect(closed.code).toBe(SubscriptionCloseCode.CREDENTIALS_REVOKED);
        expect(closed.reason).toMatch(/role changed/);
        const streamed = await stream.ended;
        expect(streamed).toContain('UNAUTHENTICATED');
        expect(streamed).toContain('credentials_revoked');
        // Router A, where the mutation ran, agrees.
        expect((await graphql(stack().router.graphqlUrl, ME, {}, bearer(user.accessToken))).status).toBe(401);

        const { refreshSession } = await ok(graphql(routerB.graphqlUrl, REFRESH, { t: user.refreshToken }));
        expect(refreshSession.user.role).toBe('VIEWER');
        expect(
          (await ok(graphql(routerB.graphqlUrl, ME, {}, bearer(refreshSession.accessToken)))).me.role,
        ).toBe('VIEWER');
        // A new subscription with the fresh token is accepted.
        const renewed = await openSubscription(
          routerB,
          bearer(refreshSession.accessToken),
          user.conversationId,
        );
        renewed.dispose();

        // A router instance started after the change learns it from the feed too.
        // (It replays identity's topics once it has joined; ADR 0013 describes that short window.)
        const late = await stack().startRouter();
        await refusedPromptly(late, bearer(user.accessToken), /role changed/);
        expect((await ok(graphql(late.graphqlUrl, ME, {}, bearer(refreshSession.accessToken)))).me.role).toBe(
          'VIEWER',
        );
      } finally {
        socket.dispose();
        stream.abort();
      }
    },
    timeoutMs,
  );

  it(
    'deactivation refuses the user’s tokens and API keys within seconds, closes their subscriptions with 4403, and refresh is refused',
    async () => {
      await setup();
      const user = await developer();
      const key = (await apiKeyOf(user, 'k')).header;
      // Both credentials work, and router B has now cached the key's verification for ten minutes.
      await ok(graphql(routerB.graphqlUrl, ME, {}, bearer(user.accessToken)));
      await ok(graphql(routerB.graphqlUrl, ME, {}, key));
      const tokenSocket = await openSubscription(routerB, bearer(user.accessToken), user.conversationId);
      const keySocket = await openSubscription(routerB, key, user.conversationId);
      try {
        await asAdmin(`mutation($u: ID!) { deactivateUser(userId: $u) { id } }`, { u: user.userId });

        await refusedPromptly(routerB, bearer(user.accessToken), /deactivated/);
        await refusedPromptly(routerB, key, /deactivated/);
        expect((await tokenSocket.closed).code).toBe(SubscriptionCloseCode.CREDENTIALS_REVOKED);
        expect((await keySocket.closed).code).toBe(SubscriptionCloseCode.CREDENTIALS_REVOKED);
        const refresh = await graphql(routerB.graphqlUrl, REFRESH, { t: user.refreshToken });
        expect(refresh.errors?.[0]?.extensions?.['code']).toBe('INVALID_REFRESH_TOKEN');
      } finally {
        tokenSocket.dispose();
        keySocket.dispose();
      }
    },
    timeoutMs,
  );

  it(
    'a revoked API key is refused by another router instance within seconds despite its key cache, and its subscriptions end (4403, SSE error)',
    async () => {
      await setup();
      const user = await developer();
      const revoked = await apiKeyOf(user, 'k');
      const key = revoked.header;
      const otherKey = (await apiKeyOf(user, 'other')).header;
      await ok(graphql(routerB.graphqlUrl, ME, {}, key));
      const socket = await openSubscription(routerB, key, user.conversationId);
      const otherSocket = await openSubscription(routerB, otherKey, user.conversationId);
      const stream = openStream(routerB, key, user.conversationId);
      try {
        await ok(
          graphql(
            stack().router.graphqlUrl,
            `
              mutation ($id: ID!) {
                revokeApiKey(id: $id) {
                  id
                }
              }
            `,
            { id: revoked.id },
            bearer(user.accessToken),
          ),
        );

        await refusedPromptly(routerB, key, /revoked/);
        expect((await socket.closed).code).toBe(SubscriptionCloseCode.CREDENTIALS_REVOKED);
        expect(await stream.ended).toContain('credentials_revoked');
        // Only that key: the owner's other key, its subscription and their access token keep working.
        expect((await ok(graphql(routerB.graphqlUrl, ME, {}, otherKey))).me.id).toBe(user.userId);
        expect((await ok(graphql(routerB.graphqlUrl, ME, {}, bearer(user.accessToken)))).me.id).toBe(
          user.userId,
        );
        const stillOpen = await Promise.race([
          otherSocket.closed,
          new Promise((resolve) => setTimeout(() => resolve('open'), 300)),
        ]);
        expect(stillOpen).toBe('open');
      } finally {
        socket.dispose();
        otherSocket.dispose();
        stream.abort();
      }
    },
    timeoutMs,
  );
}
