import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Database } from '@cap/db';
import { MemoryEventBus, type EventBus } from '@cap/messaging';
import { createLogger, MemoryKeyValueStore, type Principal } from '@cap/runtime';
import {
  asRouter,
  countingDatabase,
  createTestDatabase,
  graphql,
  testSecret,
  subgraphWsClient,
  type TestDatabase,
} from '@cap/testkit';
import type { Client } from 'graphql-ws';
import { loadConfig, startChat, type RunningChat } from '../src/index.js';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

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
  /** Prisma's transaction limits instead of the database's (a short `maxWait` provokes DATABASE_BUSY). */
  transactionOptions?: Database['transactionOptions'];
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
  const counted = counting?.database ?? db.database;
  const limits = options.transactionOptions;
  // Bound to the real object: the database keeps private state a proxy could not reach.
  const database = limits
    ? new Proxy(counted, {
        get: (target, property) => {
          if (property === 'transactionOptions') return limits;
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      })
    : counted;
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
      const client = subgraphWsClient(instance.subgraph.graphqlUrl, secret, principal);
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
