import { randomUUID } from 'node:crypto';
import type { RunningChat } from '@cap/chat';
import { SigningKeyRing, type RunningIdentity } from '@cap/identity';
import type { EventBus } from '@cap/messaging';
import type { RunningOrchestration } from '@cap/orchestration';
import { scopesForRole, type Logger, type RedisKeyValueStore } from '@cap/runtime';
import { collectSubscription, graphql, waitFor, type TestDatabase } from '@cap/testkit';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, expect } from 'vitest';
import WebSocket from 'ws';
import type { RunningRouter } from '../../src/index.js';
import type { SubscriptionSettings } from '../../src/subscriptions/settings.js';
import { startStack, type Stack } from '../harness.js';

/**
 * The stack of the router's subscription tests (one per test file, split by concern: graphql-ws transport,
 * authentication, resumption, SSE, reloads and limits): identity, chat and orchestration with Redis fan-out, a
 * router with tight subscription limits, three users, and the clients the tests open. The bindings below are
 * set by {@link useSubscriptionStack}'s `beforeAll`.
 */
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestUser {
  id: string;
  displayName: string;
  token: string;
}

/** Subscription limits of the tests' routers: short init timeout, five subscriptions per connection. */
export const SETTINGS: Partial<SubscriptionSettings> = {
  connectionInitTimeoutMs: 1_000,
  maxSubscriptionsPerConnection: 5,
  upstreamRetryMaxMs: 500,
  upstreamUnavailableAfterMs: 20_000,
};

export let stack: Stack;
export let db: TestDatabase;
export let secret: string;
export let kv: RedisKeyValueStore;
export let bus: EventBus;
export let logger: Logger;
export let dataDir: string;
export let identity: RunningIdentity;
export let chat: RunningChat;
export let chatEnv: Record<string, string>;
export let chatPort: number;
export let orchestration: RunningOrchestration;
export let router: RunningRouter;
export let wsUrl: string;
export let alice: TestUser;
export let bob: TestUser;
export let carol: TestUser;
const clients = new Set<Client>();
const sockets = new Set<WebSocket>();
/** Released before the stack, newest first: routers and subgraph instances a test starts. */
export const disposers: Array<() => Promise<unknown>> = [];

/** Starts the stack before the file's tests and releases it (and every client) after them. */
export function useSubscriptionStack(): void {
  beforeAll(async () => {
    stack = await startStack(
      {},
      {
        subscriptions: SETTINGS,
        subgraphEnv: {
          REDIS_URL,
          REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
          LIVE_CHANNEL_PREFIX: `test:${randomUUID()}:`,
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          WORKER_POLL_INTERVAL_MS: '100',
          LOG_FLUSH_INTERVAL_MS: '20',
          SHUTDOWN_GRACE_MS: '0',
        },
      },
    );
    ({ db, secret, kv, bus, logger, dataDir, identity, chat, chatEnv, orchestration, router } = stack);
    chatPort = Number(new URL(chat.subgraph.url).port);
    wsUrl = router.graphqlUrl.replace(/^http/, 'ws');
    const { accessToken: adminToken } = await stack.loginAdmin();
    const createUser = async (displayName: string): Promise<TestUser> => {
      const { createUser: created } = await call(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { id displayName } }`,
        {
          input: {
            email: `${displayName.toLowerCase()}-${randomUUID()}@example.com`,
            password: 'correct-horse-battery',
            displayName,
            role: 'DEVELOPER',
          },
        },
        adminToken,
      );
      return { id: created.id, displayName: created.displayName, token: await accessToken(created.id, 900) };
    };
    [alice, bob, carol] = await Promise.all([createUser('Alice'), createUser('Bob'), createUser('Carol')]);
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.allSettled([...clients].map((client) => client.dispose()));
    for (const dispose of disposers.reverse()) await dispose().catch(() => undefined);
    await stack?.[Symbol.asyncDispose]();
  }, 60_000);
}

/** Makes `next` the chat instance the stack's router talks to (after a test restarted chat); released at the end. */
export function replaceChat(next: RunningChat): void {
  chat = next;
  disposers.push(() => next.close());
}

/** Another router over the stack's subgraphs, with its own env and subscription settings; released at the end. */
export function startRouterWith(
  env: Record<string, string>,
  settings: Partial<SubscriptionSettings>,
): Promise<RunningRouter> {
  return stack.startRouter(env, undefined, settings);
}

/** An access token signed with identity's real key ring, living `ttlSeconds`. */
export async function accessToken(
  userId: string,
  ttlSeconds: number,
  options: { audience?: string } = {},
): Promise<string> {
  const ring = new SigningKeyRing({
    prisma: identity.deps.prisma,
    secret: stack.signingKeySecret,
    audience: options.audience ?? 'cap-router',
    issuer: 'cap-identity',
    accessTokenTtlSeconds: ttlSeconds,
  });
  return (
    await ring.signAccessToken({
      userId,
      role: 'DEVELOPER',
      scopes: scopesForRole('DEVELOPER'),
      sessionId: randomUUID(),
    })
  ).token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An operation through the router over HTTP, as `token`'s user; fails the test on errors. */

export async function call<T = any>(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<T> {
  const result = await graphql<T>(router.graphqlUrl, query, variables, bearer(token));
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!;
}

/** A graphql-ws client of the router with `params` in `connection_init`; `closes` lists the close codes it saw. */
export function wsClient(
  params: Record<string, unknown> | (() => Record<string, unknown>),
  url = wsUrl,
): Client & { closes: number[] } {
  const closes: number[] = [];
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: params,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => void closes.push((event as { code: number }).code) },
  });
  clients.add(client);
  return Object.assign(client, { closes });
}

/** Subscribes with `client` and collects what arrives under `field` (the test kit's collector). */
export const subscribe = collectSubscription;

export async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  await waitFor(condition, { timeoutMs, intervalMs: 20, message: what });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw graphql-transport-ws socket to the router, for protocol-level assertions. */
export async function rawSocket(url = wsUrl): Promise<{
  ws: WebSocket;

  messages: Array<Record<string, any>>;
  send(message: unknown): void;

  next(type: string, timeoutMs?: number): Promise<Record<string, any>>;
  closed: Promise<{ code: number; reason: string }>;
}> {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  sockets.add(ws);

  const messages: Array<Record<string, any>> = [];
  let seen = 0;
  ws.on('message', (data: Buffer) =>
    messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: async (type, timeoutMs = 10_000) => {
      await until(
        () => messages.slice(seen).some((message) => message['type'] === type),
        timeoutMs,
        () => `a ${type} message (got ${JSON.stringify(messages)})`,
      );
      const index = messages.findIndex((message, position) => position >= seen && message['type'] === type);
      seen = index + 1;
      return messages[index]!;
    },
    closed,
  };
}

/** Connects with `payload` in connection_init and resolves with the close code (fails if acknowledged). */
export async function closeCodeFor(payload: unknown): Promise<number> {
  const socket = await rawSocket();
  socket.send({ type: 'connection_init', payload });
  const { code } = await socket.closed;
  expect(socket.messages.map((message) => message['type'])).not.toContain('connection_ack');
  return code;
}

export const MESSAGE_POSTED = /* GraphQL */ `
  subscription Posted($conversationId: ID!, $after: String) {
    messagePosted(conversationId: $conversationId, after: $after) {
      id
      seq
      cursor
      body
      author {
        kind
        user {
          id
          displayName
        }
      }
    }
  }
`;

export const POST = /* GraphQL */ `
  mutation ($input: PostMessageInput!) {
    postMessage(input: $input) {
      seq
      cursor
    }
  }
`;

/** A conversation `creator` starts with `others`, and its latest cursor (subscribe `after` it to miss nothing). */
export async function conversation(
  creator: TestUser,
  others: TestUser[],
): Promise<{ id: string; latestCursor: string }> {
  const data = await call(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id latestCursor } }`,
    { input: { title: 'live', participantUserIds: others.map((other) => other.id) } },
    creator.token,
  );
  return data.createConversation;
}

export const post = (author: TestUser, conversationId: string, body: string) =>
  call(POST, { input: { conversationId, body } }, author.token);
