import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { loadConfig as loadChatConfig, startChat, type RunningChat } from '@cap/chat';
import {
  loadConfig as loadIdentityConfig,
  SigningKeyRing,
  startIdentity,
  type RunningIdentity,
} from '@cap/identity';
import { MemoryEventBus } from '@cap/messaging';
import {
  loadConfig as loadOrchestrationConfig,
  startOrchestration,
  type RunningOrchestration,
} from '@cap/orchestration';
import { createLogger, RedisKeyValueStore, scopesForRole, type Logger } from '@cap/runtime';
import {
  asRouter,
  createTestDatabase,
  errorCodes,
  graphql,
  testSecret,
  waitFor,
  type TestDatabase,
} from '@cap/testkit';
import { getOperationAST, parse, print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { CloseCode, createClient, type Client } from 'graphql-ws';
import { base64url, decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig, startRouter, type RunningRouter } from '../src/index.js';
import { loadSupergraphPolicy } from '../src/policy/supergraphPolicy.js';
import { SubscriptionCloseCode } from '../src/subscriptions/transport/closeCodes.js';
import { LoadedSupergraph } from '../src/subscriptions/execution/LoadedSupergraph.js';
import {
  RESUME_CURSOR_ALIAS,
  RESUME_VARIABLE,
  withResumption,
} from '../src/subscriptions/execution/resumableFields.js';
import { resolveSubscriptionSettings, type SubscriptionSettings } from '../src/subscriptions/settings.js';
import { SubscriberSession } from '../src/subscriptions/session/SubscriberSession.js';
import { SubscriptionEngine } from '../src/subscriptions/execution/SubscriptionEngine.js';
import { SupergraphFeed } from '../src/subscriptions/execution/supergraphFeed.js';

/**
 * Federated subscriptions through the router, against the real identity, chat and orchestration subgraphs on
 * real PostgreSQL and Redis: graphql-ws and graphql-sse clients, authentication and its expiry, policy-free
 * validation, resumption across a subgraph restart, entity fields resolved per event, supergraph reloads.
 */
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const LOG_LEVEL = (process.env['TEST_LOG_LEVEL'] ?? 'silent') as 'silent';

interface TestUser {
  id: string;
  displayName: string;
  token: string;
}

let db: TestDatabase;
let secret: string;
let signingKeySecret: string;
let kv: RedisKeyValueStore;
let bus: MemoryEventBus;
let logger: Logger;
let dataDir: string;
let identity: RunningIdentity;
let chat: RunningChat;
let chatEnv: Record<string, string>;
let chatPort: number;
let orchestration: RunningOrchestration;
let router: RunningRouter;
let wsUrl: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
const clients = new Set<Client>();
const sockets = new Set<WebSocket>();
const disposers: Array<() => Promise<unknown>> = [];

const SETTINGS: Partial<SubscriptionSettings> = {
  connectionInitTimeoutMs: 1_000,
  maxSubscriptionsPerConnection: 5,
  upstreamRetryMaxMs: 500,
  upstreamUnavailableAfterMs: 20_000,
};

async function startRouterWith(
  env: Record<string, string>,
  settings: Partial<SubscriptionSettings>,
): Promise<RunningRouter> {
  const config = Object.assign(
    loadConfig({
      NODE_ENV: 'development',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL,
      INTERNAL_TOKEN_SECRET: secret,
      SUBGRAPH_IDENTITY_URL: identity.subgraph.graphqlUrl,
      SUBGRAPH_CHAT_URL: chat.subgraph.graphqlUrl,
      SUBGRAPH_ORCHESTRATION_URL: orchestration.subgraph.graphqlUrl,
      IDENTITY_INTERNAL_URL: identity.subgraph.url,
      SUPERGRAPH_POLL_INTERVAL_MS: '0',
      ...env,
    }),
    { subscriptions: settings },
  );
  const started = await startRouter({ config, kv, logger });
  disposers.push(() => started.close());
  return started;
}

/** An access token signed with identity's real key ring, living `ttlSeconds`. */
async function accessToken(
  userId: string,
  ttlSeconds: number,
  options: { audience?: string } = {},
): Promise<string> {
  const ring = new SigningKeyRing({
    prisma: identity.deps.prisma,
    secret: signingKeySecret,
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

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An operation through the router over HTTP, as `token`'s user; fails the test on errors. */
async function call<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const result = await graphql<T>(router.graphqlUrl, query, variables, bearer(token));
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!;
}

function wsClient(
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

interface Collected<T> {
  events: T[];
  /** Errors of `next` results. */
  resultErrors: unknown[];
  /** What the `error` message (or a close) carried, once the subscription failed. */
  failedWith: unknown;
  done: Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  failure(timeoutMs?: number): Promise<string[]>;
  /** Stops reading: events still in flight are ignored, as a client that went away would never see them. */
  stop(): void;
}

/** Subscribes with `client` and collects what arrives under `field`. */
function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Collected<T> {
  let finished = false;
  let stopped = false;
  let resolveDone: () => void = () => undefined;
  const collected: Collected<T> = {
    events: [],
    resultErrors: [],
    failedWith: undefined,
    done: new Promise<void>((resolve) => (resolveDone = resolve)),
    waitFor: async (count, timeoutMs = 10_000) => {
      await until(
        () => collected.events.length >= count || finished,
        timeoutMs,
        () =>
          `${count} events (have ${collected.events.length}; failure ${JSON.stringify(collected.failedWith)})`,
      );
      if (collected.events.length < count)
        throw new Error(
          `ended after ${collected.events.length} of ${count} events: ${JSON.stringify(collected.failedWith)}`,
        );
      return collected.events.slice(0, count);
    },
    failure: async (timeoutMs = 10_000) => {
      await until(
        () => finished,
        timeoutMs,
        () => 'the subscription to fail',
      );
      const list = Array.isArray(collected.failedWith) ? collected.failedWith : [collected.failedWith];
      return list.map((item) =>
        String(
          (item as { extensions?: { code?: unknown } }).extensions?.code ??
            (item as { code?: unknown })?.code,
        ),
      );
    },
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (stopped) return;
        if (result.errors) collected.resultErrors.push(...result.errors);
        if (result.data?.[field] !== undefined) collected.events.push(result.data[field]!);
      },
      error: (error) => {
        collected.failedWith = error;
        finished = true;
        resolveDone();
      },
      complete: () => {
        finished = true;
        resolveDone();
      },
    },
  );
  return collected;
}

async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  await waitFor(condition, { timeoutMs, intervalMs: 20, message: what });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw graphql-transport-ws socket to the router, for protocol-level assertions. */
async function rawSocket(url = wsUrl): Promise<{
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
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as Record<string, any>));
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
async function closeCodeFor(payload: unknown): Promise<number> {
  const socket = await rawSocket();
  socket.send({ type: 'connection_init', payload });
  const { code } = await socket.closed;
  expect(socket.messages.map((message) => message['type'])).not.toContain('connection_ack');
  return code;
}

const MESSAGE_POSTED = /* GraphQL */ `
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
const POST = /* GraphQL */ `
  mutation ($input: PostMessageInput!) {
    postMessage(input: $input) {
      seq
      cursor
    }
  }
`;

async function conversation(
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

const post = (author: TestUser, conversationId: string, body: string) =>
  call(POST, { input: { conversationId, body } }, author.token);

beforeAll(async () => {
  db = await createTestDatabase();
  secret = testSecret();
  signingKeySecret = testSecret();
  kv = new RedisKeyValueStore(REDIS_URL, { keyPrefix: `test:${randomUUID()}:` });
  bus = new MemoryEventBus();
  logger = createLogger({ service: 'subscriptions-test', level: LOG_LEVEL });
  dataDir = mkdtempSync(join(tmpdir(), 'cap-router-subscriptions-'));
  identity = await startIdentity({
    config: loadIdentityConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      SIGNING_KEY_SECRET: signingKeySecret,
      LOG_LEVEL,
    }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  chatEnv = {
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL,
    INTERNAL_TOKEN_SECRET: secret,
    ATTACHMENT_SIGNING_SECRET: testSecret(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
  };
  chat = await startChat({ config: loadChatConfig(chatEnv), database: db.database, kv, bus, logger });
  chatPort = Number(new URL(chat.subgraph.url).port);
  orchestration = await startOrchestration({
    config: loadOrchestrationConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL,
      INTERNAL_TOKEN_SECRET: secret,
      REDIS_URL,
      LIVE_CHANNEL_PREFIX: `test:${randomUUID()}:`,
      WORKSPACE_ROOT: dataDir,
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      CLASSIFICATION_TIMEOUT_MS: '0',
      WORKER_POLL_INTERVAL_MS: '100',
      LOG_FLUSH_INTERVAL_MS: '20',
      SHUTDOWN_GRACE_MS: '0',
    }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  router = await startRouterWith({}, SETTINGS);
  wsUrl = router.graphqlUrl.replace(/^http/, 'ws');

  const admin = identity.bootstrappedAdmin!;
  const login = await graphql(
    router.graphqlUrl,
    `
      mutation ($e: String!, $p: String!) {
        login(input: { email: $e, password: $p }) {
          accessToken
        }
      }
    `,
    { e: admin.email, p: admin.password },
  );
  const adminToken = login.data!['login'].accessToken as string;
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
  await orchestration?.close({ graceMs: 0 });
  await chat?.close();
  await identity?.close();
  await bus?.close();
  await kv?.close();
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('graphql-ws through the router', () => {
  it('delivers to two clients with the author resolved by identity per event, and a client that reconnects with `after` gets what it missed exactly once, then live', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const aliceStream = subscribe(
      wsClient(bearer(alice.token)),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    const bobClient = wsClient(bearer(bob.token));
    const bobStream = subscribe(
      bobClient,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'hello 1');
    await Promise.all([aliceStream.waitFor(1), bobStream.waitFor(1)]);
    // `author.user.displayName` is identity's field: resolved per event through the query plan's `rest`.
    expect(bobStream.events[0]).toMatchObject({
      seq: 1,
      body: 'hello 1',
      author: { kind: 'USER', user: { id: alice.id, displayName: 'Alice' } },
    });
    // The cursor the router selects for itself never reaches the client.
    expect(Object.keys(bobStream.events[0]).sort()).toEqual(['author', 'body', 'cursor', 'id', 'seq']);

    const lastSeen = bobStream.events.at(-1)!.cursor as string;
    await bobClient.dispose();
    for (const body of ['missed 2', 'missed 3', 'missed 4']) await post(alice, conversationId, body);
    await aliceStream.waitFor(4);

    const again = subscribe(
      wsClient(bearer(bob.token)),
      MESSAGE_POSTED,
      { conversationId, after: lastSeen },
      'messagePosted',
    );
    await again.waitFor(3);
    await post(bob, conversationId, 'live 5');
    await again.waitFor(4);
    await post(alice, conversationId, 'live 6');
    await Promise.all([again.waitFor(5), aliceStream.waitFor(6)]);
    await sleep(300);
    expect(again.events.map((event) => event.body)).toEqual([
      'missed 2',
      'missed 3',
      'missed 4',
      'live 5',
      'live 6',
    ]);
    expect(again.events.at(-2)!.author.user).toEqual({ id: bob.id, displayName: 'Bob' });
    expect(aliceStream.events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...aliceStream.resultErrors, ...again.resultErrors]).toEqual([]);
  }, 30_000);

  it('fetches the entity fields of one event once for all the subscriptions of one caller (batched per tick)', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const streams = Array.from({ length: 10 }, () =>
      subscribe(
        wsClient(bearer(bob.token)),
        MESSAGE_POSTED,
        { conversationId, after: latestCursor },
        'messagePosted',
      ),
    );
    // Let every subscription reach chat before counting.
    await post(alice, conversationId, 'warm-up');
    await Promise.all(streams.map((stream) => stream.waitFor(1)));
    let identityRequests = 0;
    const count = (req: { url?: string }) => {
      if (req.url?.startsWith('/graphql')) identityRequests += 1;
    };
    identity.subgraph.server.on('request', count);
    try {
      await post(alice, conversationId, 'to ten subscribers');
      const events = await Promise.all(streams.map((stream) => stream.waitFor(2)));
      for (const [, second] of events)
        expect(second.author.user).toEqual({ id: alice.id, displayName: 'Alice' });
      // Ten events, one author: one `_entities` request (two if the events straddle two turns of the event loop).
      expect(identityRequests).toBeGreaterThanOrEqual(1);
      expect(identityRequests).toBeLessThanOrEqual(2);
    } finally {
      identity.subgraph.server.off('request', count);
    }
  }, 20_000);

  it('shapes each event as the client asked: aliases, fragments, @include, __typename, entity fields under fragments', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const client = wsClient(bearer(bob.token));
    const plain = subscribe(
      client,
      `subscription($c: ID!, $a: String) { posted: messagePosted(conversationId: $c, after: $a) { text: body __typename } }`,
      { c: conversationId, a: latestCursor },
      'posted',
    );
    const shaped = subscribe(
      client,
      `subscription($c: ID!, $a: String, $withSeq: Boolean!) { messagePosted(conversationId: $c, after: $a) { ...M seq @include(if: $withSeq) } }
       fragment M on Message { body author { ... on MessageAuthor { user { displayName } } } }`,
      { c: conversationId, a: latestCursor, withSeq: false },
      'messagePosted',
    );
    await post(alice, conversationId, 'shaped');
    await Promise.all([plain.waitFor(1), shaped.waitFor(1)]);
    expect(plain.events).toEqual([{ text: 'shaped', __typename: 'Message' }]);
    expect(shaped.events).toEqual([{ body: 'shaped', author: { user: { displayName: 'Alice' } } }]);
  }, 20_000);

  it('refuses at subscribe time with coded errors: non-participants FORBIDDEN, invalid operations, queries, too many subscriptions', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const intruder = subscribe(
      wsClient(bearer(carol.token)),
      MESSAGE_POSTED,
      { conversationId },
      'messagePosted',
    );
    expect(await intruder.failure()).toEqual(['FORBIDDEN']);
    // Sent as the graphql-ws `error` message (a list of errors), not as a result.
    expect(Array.isArray(intruder.failedWith)).toBe(true);

    const client = wsClient(bearer(alice.token));
    const invalid = subscribe(
      client,
      `subscription($id: ID!) { messagePosted(conversationId: $id) { nope } }`,
      { id: conversationId },
      'messagePosted',
    );
    expect(await invalid.failure()).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const query = subscribe(client, `query { __typename }`, {}, '__typename');
    expect(await query.failure()).toEqual(['BAD_USER_INPUT']);
    const badVariables = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId: { not: 'an id' } },
      'messagePosted',
    );
    expect(await badVariables.failure()).toEqual(['BAD_USER_INPUT']);
    const unknown = subscribe(client, MESSAGE_POSTED, { conversationId: randomUUID() }, 'messagePosted');
    expect(await unknown.failure()).toEqual(['NOT_FOUND']);

    // From the cursor read at creation: a post racing the subscriptions' start is replayed, not missed.
    const running = Array.from({ length: 5 }, () =>
      subscribe(client, MESSAGE_POSTED, { conversationId, after: latestCursor }, 'messagePosted'),
    );
    const sixth = subscribe(client, MESSAGE_POSTED, { conversationId }, 'messagePosted');
    expect(await sixth.failure()).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    await post(alice, conversationId, 'to the five');
    await Promise.all(running.map((stream) => stream.waitFor(1)));
  }, 30_000);

  it('closes with 4401 on bad, forged, expired or `alg: none` credentials, 4400 on malformed input, 4408 without init, 4429 on a second init', async () => {
    expect(await closeCodeFor({ authorization: 'Bearer not-a-token' })).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...decodeJwt(alice.token) })
      .setProtectedHeader({ alg: 'ES256', kid: 'forged' })
      .sign(privateKey);
    expect(await closeCodeFor(bearer(forged))).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor(bearer(await accessToken(alice.id, -120)))).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    expect(await closeCodeFor(bearer(await accessToken(alice.id, 900, { audience: 'someone-else' })))).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(decodeJwt(alice.token)))}.`;
    expect(await closeCodeFor(bearer(none))).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor({ 'x-api-key': 'cap_nope_nope' })).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor({ authorization: 42 })).toBe(SubscriptionCloseCode.BAD_REQUEST);

    const garbage = await rawSocket();
    garbage.send('{ not json');
    expect((await garbage.closed).code).toBe(SubscriptionCloseCode.BAD_REQUEST);
    const noId = await rawSocket();
    noId.send({ type: 'connection_init', payload: bearer(alice.token) });
    await noId.next('connection_ack');
    noId.send({ type: 'subscribe', payload: { query: 'subscription { __typename }' } });
    expect((await noId.closed).code).toBe(SubscriptionCloseCode.BAD_REQUEST);
    const silent = await rawSocket();
    expect((await silent.closed).code).toBe(SubscriptionCloseCode.CONNECTION_INIT_TIMEOUT);
    const twice = await rawSocket();
    twice.send({ type: 'connection_init', payload: bearer(alice.token) });
    await twice.next('connection_ack');
    twice.send({ type: 'connection_init', payload: bearer(alice.token) });
    expect((await twice.closed).code).toBe(SubscriptionCloseCode.TOO_MANY_REQUESTS);
    // Anonymous connections are accepted; chat refuses them itself.
    const anonymous = subscribe(
      wsClient({}),
      MESSAGE_POSTED,
      { conversationId: randomUUID() },
      'messagePosted',
    );
    expect(await anonymous.failure()).toEqual(['UNAUTHENTICATED']);
  }, 30_000);

  it('ends the socket with 4401 when the access token expires mid-subscription', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, []);
    const shortLived = await accessToken(alice.id, 3);
    const client = wsClient(bearer(shortLived));
    const stream = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'while valid');
    await stream.waitFor(1);
    await stream.done;
    expect(client.closes).toEqual([SubscriptionCloseCode.UNAUTHORIZED]);
    expect(Date.now()).toBeGreaterThanOrEqual((decodeJwt(shortLived).exp! - 1) * 1000);
  }, 15_000);

  it('keeps a connection alive past expiry when a ping renews the credentials, and closes 4403 on another caller', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const socket = await rawSocket();
    socket.send({ type: 'connection_init', payload: bearer(await accessToken(alice.id, 3)) });
    const ack = await socket.next('connection_ack');
    expect(Date.parse(ack['payload'].expiresAt)).toBeLessThan(Date.now() + 4_000);
    socket.send({
      type: 'subscribe',
      id: 's1',
      payload: { query: MESSAGE_POSTED, variables: { conversationId, after: latestCursor } },
    });
    socket.send({ type: 'ping', payload: bearer(alice.token) });
    const pong = await socket.next('pong');
    expect(Date.parse(pong['payload'].expiresAt)).toBeGreaterThan(Date.now() + 60_000);
    await sleep(4_000);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    await post(bob, conversationId, 'after the first token expired');
    const next = await socket.next('next');
    expect(next['payload'].data.messagePosted).toMatchObject({
      body: 'after the first token expired',
      author: { user: { displayName: 'Bob' } },
    });
    socket.send({ type: 'ping', payload: bearer(bob.token) });
    expect((await socket.closed).code).toBe(SubscriptionCloseCode.FORBIDDEN);
  }, 15_000);

  it('resumes across a restart of the chat instance it subscribes through: no gap, no duplicate, the client socket stays open', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const client = wsClient(bearer(bob.token));
    const stream = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'before 1');
    await post(alice, conversationId, 'before 2');
    await stream.waitFor(2);

    // Another chat instance on the same database and Redis keeps taking posts while the first one is down.
    const other = await startChat({
      config: loadChatConfig(chatEnv),
      database: db.database,
      kv,
      bus,
      logger,
    });
    try {
      await chat.close();
      const principal = {
        kind: 'user' as const,
        userId: alice.id,
        role: 'DEVELOPER' as const,
        scopes: scopesForRole('DEVELOPER'),
      };
      for (const body of ['during 3', 'during 4']) {
        const result = await graphql(
          other.subgraph.graphqlUrl,
          POST,
          { input: { conversationId, body } },
          await asRouter(secret, principal),
        );
        expect(result.errors).toBeUndefined();
      }
      await sleep(300);
      chat = await startChat({
        config: loadChatConfig({ ...chatEnv, PORT: String(chatPort) }),
        database: db.database,
        kv,
        bus,
        logger,
      });
      await post(alice, conversationId, 'after 5');
      await stream.waitFor(5, 15_000);
      await post(bob, conversationId, 'after 6');
      await stream.waitFor(6);
      await sleep(300);
      expect(stream.events.map((event) => `${event.seq} ${event.body}`)).toEqual([
        '1 before 1',
        '2 before 2',
        '3 during 3',
        '4 during 4',
        '5 after 5',
        '6 after 6',
      ]);
      expect(stream.events[2].author.user.displayName).toBe('Alice');
      expect(client.closes).toEqual([]);
      expect(stream.resultErrors).toEqual([]);
    } finally {
      await other.close();
    }
  }, 40_000);
});

describe('orchestration through the router', () => {
  const TASK_LOGS = /* GraphQL */ `
    subscription ($taskId: ID!, $afterSeq: Int) {
      taskLogs(taskId: $taskId, afterSeq: $afterSeq) {
        seq
        kind
        message
      }
    }
  `;

  it('a taskLogs subscriber that disconnects and resumes with afterSeq gets every line exactly once; taskUpdated resolves the creator from identity', async () => {
    const { createTask } = await call(
      `mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      {
        input: {
          title: 'count to 300',
          command: 'for i in $(seq 1 300); do echo "line $i"; sleep 0.005; done',
          strategy: 'SINGLE_SHOT',
        },
      },
      alice.token,
    );
    const taskId = createTask.id as string;
    const updates = subscribe(
      wsClient(bearer(alice.token)),
      `subscription($id: ID!) { taskUpdated(taskId: $id) { id status creator { id displayName } } }`,
      { id: taskId },
      'taskUpdated',
    );
    const [first] = await updates.waitFor(1);
    expect(first.creator).toEqual({ id: alice.id, displayName: 'Alice' });

    const firstClient = wsClient(bearer(alice.token));
    const before = subscribe(firstClient, TASK_LOGS, { taskId }, 'taskLogs');
    await before.waitFor(50, 20_000);
    before.stop();
    const lastSeq = before.events.at(-1)!.seq as number;
    await firstClient.dispose();

    await until(
      () => updates.events.some((event) => event.status === 'SUCCEEDED'),
      30_000,
      () => `the task to succeed (${JSON.stringify(updates.events.map((event) => event.status))})`,
    );
    const { taskLogs } = await call(
      `query($id: ID!) { taskLogs(taskId: $id, last: 1) { edges { node { seq } } } }`,
      { id: taskId },
      alice.token,
    );
    const total = taskLogs.edges[0].node.seq as number;
    const after = subscribe(
      wsClient(bearer(alice.token)),
      TASK_LOGS,
      { taskId, afterSeq: lastSeq },
      'taskLogs',
    );
    await after.waitFor(total - lastSeq, 20_000);
    await sleep(300);

    const seqs = [...before.events, ...after.events].map((event) => event.seq as number);
    expect(seqs).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    const lines = [...before.events, ...after.events]
      .filter((event) => event.kind === 'COMMAND_OUTPUT')
      .map((event) => event.message);
    expect(lines).toEqual(Array.from({ length: 300 }, (_, index) => `line ${index + 1}`));
  }, 60_000);
});

describe('graphql-sse through the router', () => {
  it('streams a subscription over Server-Sent Events with the same authentication, errors and execution', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const url = `${router.url}/graphql/stream`;
    const client = createSseClient({
      url,
      headers: bearer(bob.token),
      singleConnection: false,
      retryAttempts: 0,
    });
    const events: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const dispose = client.subscribe(
        { query: MESSAGE_POSTED, variables: { conversationId, after: latestCursor } },
        {
          next: (result) => {
            events.push(result);
            if (events.length === 2) {
              dispose();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    await post(alice, conversationId, 'over sse 1');
    await post(alice, conversationId, 'over sse 2');
    await Promise.race([
      done,
      sleep(10_000).then(() => Promise.reject(new Error(`SSE events: ${JSON.stringify(events)}`))),
    ]);
    expect(events.map((event) => event.data.messagePosted.body)).toEqual(['over sse 1', 'over sse 2']);
    expect(events[0].data.messagePosted.author.user.displayName).toBe('Alice');
    client.dispose();

    // Bad credentials: 401 and UNAUTHENTICATED, as on POST /graphql.
    const refused = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: 'Bearer nope',
      },
      body: JSON.stringify({ query: MESSAGE_POSTED, variables: { conversationId } }),
    });
    expect(refused.status).toBe(401);
    expect(errorCodes((await refused.json()) as any)).toEqual(['UNAUTHENTICATED']);
    // A non-participant: the stream carries the subgraph's refusal, then ends.
    const intruder = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(carol.token) },
      body: JSON.stringify({ query: MESSAGE_POSTED, variables: { conversationId } }),
    });
    const text = await intruder.text();
    expect(text).toContain('"code":"FORBIDDEN"');
    expect(text).toContain('event: complete');
    // Invalid operations are refused before streaming.
    const invalid = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(bob.token) },
      body: JSON.stringify({ query: 'subscription { nope }' }),
    });
    expect(invalid.status).toBe(400);
    expect(errorCodes((await invalid.json()) as any)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  }, 30_000);
});

describe('a router whose supergraph reloads and whose chat goes away', () => {
  it('keeps subscriptions running across a supergraph reload, caps connections per address, and ends with SUBGRAPH_UNAVAILABLE when chat stays down', async () => {
    // A supergraph where identity lacks `Query.scopes`: the router's poll brings it in (development hot reload).
    const sdl = (name: string) =>
      readFileSync(new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url), 'utf8');
    const olderIdentity = sdl('identity').replace(
      /\n\s*"""[^"]*"""\n\s*scopes: \[ScopeInfo!\]![^\n]*\n/,
      '\n',
    );
    expect(olderIdentity).not.toBe(sdl('identity'));
    const composed = composeServices(
      [
        { name: 'identity', typeDefs: parse(olderIdentity) },
        { name: 'chat', typeDefs: parse(sdl('chat')) },
        { name: 'orchestration', typeDefs: parse(sdl('orchestration')) },
      ].map((service) => ({ ...service, url: 'http://127.0.0.1:1/graphql' })),
    );
    if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
    const path = join(dataDir, 'older-supergraph.graphql');
    writeFileSync(path, composed.supergraphSdl);
    const doomedChat = await startChat({
      config: loadChatConfig(chatEnv),
      database: db.database,
      kv,
      bus,
      logger,
    });
    disposers.push(() => doomedChat.close());
    const reloading = await startRouterWith(
      {
        SUPERGRAPH_PATH: path,
        SUPERGRAPH_POLL_INTERVAL_MS: '1500',
        SUBGRAPH_CHAT_URL: doomedChat.subgraph.graphqlUrl,
      },
      { ...SETTINGS, upstreamUnavailableAfterMs: 1_500, maxConnectionsPerAddress: 3 },
    );
    const url = reloading.graphqlUrl.replace(/^http/, 'ws');
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const stream = subscribe(
      wsClient(bearer(bob.token), url),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'before the reload');
    await stream.waitFor(1);

    await expect
      .poll(
        async () =>
          errorCodes(
            await graphql(
              reloading.graphqlUrl,
              `
                {
                  scopes {
                    name
                  }
                }
              `,
            ),
          ).join(),
        { timeout: 10_000, interval: 200 },
      )
      .toBe('');
    await post(alice, conversationId, 'after the reload');
    await stream.waitFor(2);
    const fresh = subscribe(
      wsClient(bearer(alice.token), url),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await fresh.waitFor(2);

    // Two connections are open from this address; the third is allowed, the fourth refused.
    const third = await rawSocket(url);
    const fourth = await rawSocket(url);
    expect((await fourth.closed).code).toBe(SubscriptionCloseCode.TOO_MANY_REQUESTS);
    third.ws.close();

    await doomedChat.close();
    expect(await stream.failure(10_000)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(JSON.stringify(stream.failedWith)).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|stack/i);
    expect(stream.events.map((event) => event.body)).toEqual(['before the reload', 'after the reload']);
  }, 60_000);
});

describe('the subscription engine', () => {
  const gatewaySdl = () =>
    loadSupergraphPolicy(readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8'))
      .gatewaySdl;

  it('uses the graphql-transport-ws close codes', () => {
    expect(SubscriptionCloseCode.BAD_REQUEST).toBe(CloseCode.BadRequest);
    expect(SubscriptionCloseCode.UNAUTHORIZED).toBe(CloseCode.Unauthorized);
    expect(SubscriptionCloseCode.FORBIDDEN).toBe(CloseCode.Forbidden);
    expect(SubscriptionCloseCode.CONNECTION_INIT_TIMEOUT).toBe(CloseCode.ConnectionInitialisationTimeout);
    expect(SubscriptionCloseCode.SUBSCRIBER_ALREADY_EXISTS).toBe(CloseCode.SubscriberAlreadyExists);
    expect(SubscriptionCloseCode.TOO_MANY_REQUESTS).toBe(CloseCode.TooManyInitialisationRequests);
    expect(SubscriptionCloseCode.INTERNAL_SERVER_ERROR).toBe(CloseCode.InternalServerError);
  });

  it('routes the resume argument of resumable fields through its own variable, whatever the client passed', () => {
    const loaded = new LoadedSupergraph(gatewaySdl(), { subgraphUrls: {}, subgraphTimeoutMs: 1_000, logger });
    const schema = loaded.validationSchema;
    const rewrite = (query: string, variables: Record<string, unknown> = {}) => {
      const document = parse(query);
      const result = withResumption(
        document,
        getOperationAST(document)!,
        schema,
        variables,
        loaded.resumableFields,
      );
      return result && { query: print(result.document), variables: result.variables };
    };
    const literal = rewrite(`subscription { messagePosted(conversationId: "c", after: "abc") { id } }`)!;
    expect(literal.variables).toEqual({ [RESUME_VARIABLE]: 'abc' });
    expect(literal.query).toContain(`messagePosted(conversationId: "c", after: $${RESUME_VARIABLE})`);
    expect(literal.query).toContain(`${RESUME_CURSOR_ALIAS}: cursor`);
    const variable = rewrite(
      `subscription($a: String = "dflt") { m: messagePosted(conversationId: "c", after: $a) { id } }`,
    )!;
    expect(variable.variables).toEqual({ [RESUME_VARIABLE]: 'dflt' });
    expect(
      rewrite(`subscription($s: Int) { taskLogs(taskId: "t", afterSeq: $s) { seq } }`, { s: 7 })!.variables,
    ).toEqual({ s: 7, [RESUME_VARIABLE]: 7 });
    const absent = rewrite(`subscription { taskLogs(taskId: "t") { message } }`)!;
    expect(absent.variables).toEqual({});
    expect(absent.query).toContain(`$${RESUME_VARIABLE}: Int`);
    expect(absent.query).toContain(`${RESUME_CURSOR_ALIAS}: seq`);
    expect(rewrite(`subscription { taskUpdated(taskId: "t") { id } }`)).toBeNull();
  });

  it('pauses the upstream of a resumable subscription whose reader falls behind, and resumes it from the cursor without loss', async () => {
    const feed = new SupergraphFeed();
    feed.publish(gatewaySdl());
    const settings = resolveSubscriptionSettings({ maxBufferedEvents: 4, eventConcurrency: 2 });
    const engine = new SubscriptionEngine({
      feed,
      subgraphUrls: {
        identity: identity.subgraph.graphqlUrl,
        chat: chat.subgraph.graphqlUrl,
        orchestration: orchestration.subgraph.graphqlUrl,
      },
      subgraphTimeoutMs: 5_000,
      prepareOperation: undefined,
      finishEvent: undefined,
      settings,
      logger,
    });
    const session = new SubscriberSession({
      principal: { kind: 'user', userId: bob.id, role: 'DEVELOPER', scopes: scopesForRole('DEVELOPER') },
      credential: { kind: 'anonymous' },
      requestId: randomUUID(),
      clientIp: '127.0.0.1',
      internalTokenSecret: secret,
      upstream: { urlOf: (subgraph) => engine.webSocketUrlOf(subgraph), settings, logger },
    });
    try {
      const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
      const started = await engine.start(
        {
          query: MESSAGE_POSTED,
          operationName: undefined,
          variables: { conversationId, after: latestCursor },
        },
        session,
      );
      if (started.kind !== 'run') throw new Error(JSON.stringify(started.errors));
      const { subscription } = started;
      const firstRead = subscription.next();
      await post(alice, conversationId, 'm1');
      expect((await firstRead).value).toMatchObject({
        data: { messagePosted: { seq: 1, author: { user: { displayName: 'Alice' } } } },
      });
      // Nobody reads for a while: 11 messages arrive, more than the buffer holds.
      for (let index = 2; index <= 12; index += 1) await post(alice, conversationId, `m${index}`);
      await until(
        () => subscription.received >= 5,
        10_000,
        () => 'the buffer to fill',
      );
      await sleep(500);
      // m1 (read) and four buffered: the upstream stopped there instead of buffering the rest.
      expect(subscription.received).toBe(1 + settings.maxBufferedEvents);
      const bodies: string[] = [];
      for (let index = 2; index <= 12; index += 1) {
        const { value } = await subscription.next();
        bodies.push((value as any).data.messagePosted.body);
      }
      expect(bodies).toEqual(Array.from({ length: 11 }, (_, index) => `m${index + 2}`));
      expect(subscription.resubscriptions).toBeGreaterThan(0);
      await subscription.return();
    } finally {
      engine.close();
      await session.dispose();
    }
  }, 30_000);
});
