import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { MemoryEventBus, type EventBus } from '@cap/messaging';
import {
  createLogger,
  MemoryKeyValueStore,
  scopesForRole,
  signRouterToken,
  type Principal,
  type Role,
} from '@cap/runtime';
import {
  asRouter,
  countingDatabase,
  createTestDatabase,
  graphql,
  testSecret,
  type TestDatabase,
} from '@cap/testkit';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig, startChat, type RunningChat } from '../src/index.js';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A user principal with the scopes of `role` (DEVELOPER by default) and a fresh id. */
export function user(
  role: Role = 'DEVELOPER',
  userId: string = randomUUID(),
): Principal & { kind: 'user'; userId: string } {
  return { kind: 'user', userId, role, scopes: [...scopesForRole(role)] };
}

/** Options of {@link startChatHarness}. */
export interface ChatHarnessOptions {
  /** Extra environment for chat's config. */
  env?: Record<string, string>;
  /** Use real Redis for cache, fan-out and ephemeral state (default true); false = in-process. */
  redis?: boolean;
  /** Count SQL statements (see {@link countingDatabase}). */
  countStatements?: boolean;
  /** Event bus to publish to (default: a fresh in-memory bus, closed with the harness). */
  bus?: EventBus;
}

export interface ChatHarness extends AsyncDisposable {
  chat: RunningChat;
  db: TestDatabase;
  secret: string;
  bus: EventBus;
  /** Environment every instance of this harness shares (Redis prefix, data dir, secrets). */
  env: Record<string, string>;
  /** SQL statements sent so far (only with `countStatements`). */
  statements(): number;
  /** Calls chat as the router would, for `principal`. */
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): ReturnType<typeof graphql<T>>;
  /** Another chat instance on the same database, Redis prefix and data directory; closed with the harness. */
  startInstance(): Promise<RunningChat>;
  /** A graphql-ws client connected to `instance` (default: the first) as the router would, for `principal`. */
  wsClient(principal: Principal, instance?: RunningChat): Client;
}

/** Chat on a fresh real PostgreSQL database and real Redis (its own key prefix), in-memory event bus. */
export async function startChatHarness(options: ChatHarnessOptions = {}): Promise<ChatHarness> {
  const db = await createTestDatabase();
  const counting = options.countStatements ? countingDatabase(db.database) : null;
  const database = counting?.database ?? db.database;
  const secret = testSecret();
  const bus = options.bus ?? new MemoryEventBus();
  const dataDir = `/tmp/cap-chat-test-${randomUUID()}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: secret,
    ATTACHMENT_SIGNING_SECRET: testSecret(),
    LOG_LEVEL: 'silent',
    ...(options.redis === false ? {} : { REDIS_URL: REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` }),
    ...options.env,
  };
  const logger = createLogger({ service: 'chat-test', level: (env['LOG_LEVEL'] as 'silent') ?? 'silent' });
  const kvs: MemoryKeyValueStore[] = [];
  const instances: RunningChat[] = [];
  const clients: Client[] = [];
  const start = async (): Promise<RunningChat> => {
    const kv = new MemoryKeyValueStore();
    kvs.push(kv);
    const instance = await startChat({ config: loadConfig(env), database, kv, bus, logger });
    instances.push(instance);
    return instance;
  };
  let chat: RunningChat;
  try {
    chat = await start();
  } catch (error) {
    await Promise.allSettled([bus.close(), db.drop(), ...kvs.map((kv) => kv.close())]);
    throw error;
  }
  return {
    chat,
    db,
    secret,
    bus,
    env,
    statements: () => counting?.statements() ?? 0,
    call: async (query, variables = {}, principal) =>
      graphql(chat.subgraph.graphqlUrl, query, variables, await asRouter(secret, principal)),
    startInstance: start,
    wsClient: (principal, instance = chat) => {
      const client = createClient({
        url: instance.subgraph.graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: async () => ({
          routerToken: await signRouterToken(secret, {
            principal,
            requestId: randomUUID(),
            clientIp: '198.51.100.7',
          }),
        }),
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    [Symbol.asyncDispose]: async () => {
      await Promise.allSettled(clients.map((client) => client.dispose()));
      await Promise.allSettled(instances.map((instance) => instance.close()));
      await bus.close();
      await Promise.allSettled(kvs.map((kv) => kv.close()));
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A subscription's received events, with a way to wait for them. */
export interface Subscription<T> {
  events: T[];
  errors: unknown[];
  /** Resolves when the server completed the subscription (or it failed). */
  done: Promise<void>;
  /** Waits until at least `count` events arrived (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Waits until the subscription ended with an error, and returns the error codes. */
  failure(timeoutMs?: number): Promise<string[]>;
  unsubscribe(): void;
}

/** Subscribes with `client` and collects what arrives under `field`. */
export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Subscription<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  let notify: () => void = () => {};
  let finished = false;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const changed = (): void => notify();
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data?.[field] !== undefined) events.push(result.data[field]!);
        changed();
      },
      error: (error) => {
        errors.push(error);
        finished = true;
        resolveDone();
        changed();
      },
      complete: () => {
        finished = true;
        resolveDone();
        changed();
      },
    },
  );
  const until = async (condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 100));
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  return {
    events,
    errors,
    done,
    waitFor: async (count, timeoutMs = 10_000) => {
      await until(
        () => events.length >= count || (finished && events.length < count),
        timeoutMs,
        () => `${count} events (have ${events.length}, errors ${JSON.stringify(errors)})`,
      );
      if (events.length < count)
        throw new Error(
          `subscription ended after ${events.length} of ${count} events: ${JSON.stringify(errors)}`,
        );
      return events.slice(0, count);
    },
    failure: async (timeoutMs = 10_000) => {
      await until(
        () => finished || errors.length > 0,
        timeoutMs,
        () => 'the subscription to fail',
      );
      return errors.flatMap((error) => {
        const list = Array.isArray(error) ? error : [error];
        return list.map((item) =>
          String(
            (item as { extensions?: { code?: unknown } }).extensions?.code ??
              (item as { code?: unknown }).code,
          ),
        );
      });
    },
    unsubscribe,
  };
}

export const CREATE_CONVERSATION = /* GraphQL */ `
  mutation Create($input: CreateConversationInput!) {
    createConversation(input: $input) {
      id
      title
      latestCursor
      creator {
        id
      }
      participants {
        kind
        agentId
        user {
          id
        }
      }
    }
  }
`;

export const POST = /* GraphQL */ `
  mutation Post($input: PostMessageInput!) {
    postMessage(input: $input) {
      id
      seq
      cursor
      body
      createdAt
      author {
        kind
        user {
          id
        }
      }
      attachments {
        id
        fileName
      }
    }
  }
`;

/** Creates a conversation as `creator` with `others`; returns its id. */
export async function createConversation(
  h: ChatHarness,
  creator: Principal,
  others: Principal[] = [],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const result = await h.call(
    CREATE_CONVERSATION,
    {
      input: {
        title: 'Test conversation',
        participantUserIds: others.map((other) => (other as { userId: string }).userId),
        ...extra,
      },
    },
    creator,
  );
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!['createConversation'].id as string;
}

/** Posts `body` as `author`; returns the message. */
export async function post(
  h: ChatHarness,
  author: Principal,
  conversationId: string,
  body: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const result = await h.call(POST, { input: { conversationId, body, ...extra } }, author);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!['postMessage'];
}
