import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { MemoryEventBus, type EventBus } from '@cap/messaging';
import { loadConfig as loadChatConfig, startChat, type RunningChat } from '@cap/chat';
import { loadConfig as loadCicdConfig, startCicd, type RunningCicd } from '@cap/cicd';
import { loadGithubConfig, startGithub, type RunningGithub } from '@cap/github';
import { loadConfig as loadIdentityConfig, startIdentity, type RunningIdentity } from '@cap/identity';
import {
  loadConfig as loadMlClassifierConfig,
  startMlClassifier,
  type RunningMlClassifier,
} from '@cap/ml-classifier';
import {
  loadConfig as loadOrchestrationConfig,
  startOrchestration,
  type RunningOrchestration,
} from '@cap/orchestration';
import { createLogger, RedisKeyValueStore, type Logger } from '@cap/runtime';
import { createTestDatabase, graphql, testSecret, type TestDatabase } from '@cap/testkit';
import { loadConfig, RevocationFeed, startRouter, subgraphUrlEnv, type RunningRouter } from '../src/index.js';
import type { SubscriptionSettings } from '../src/subscriptions/settings.js';

/**
 * Every subgraph of the supergraph (identity, chat, orchestration, ml-classifier, github, cicd) and the router on
 * real PostgreSQL and Redis: the one stack of the router's tests ({@link startStack}). The router is ready only
 * when every subgraph it routes to answers, so the stack starts them all.
 */
export interface Stack extends AsyncDisposable {
  router: RunningRouter;
  identity: RunningIdentity;
  chat: RunningChat;
  orchestration: RunningOrchestration;
  mlClassifier: RunningMlClassifier;
  github: RunningGithub;
  cicd: RunningCicd;
  /** The shared infrastructure, for tests that start more subgraph instances on it. */
  db: TestDatabase;
  kv: RedisKeyValueStore;
  bus: EventBus;
  logger: Logger;
  /** DATA_DIR of every component (removed with the stack). */
  dataDir: string;
  /** The environment chat was started with (another instance with it shares chat's database and Redis). */
  chatEnv: Record<string, string>;
  secret: string;
  /** Identity's SIGNING_KEY_SECRET, so tests can sign tokens with the real stored keys. */
  signingKeySecret: string;
  admin: { email: string; password: string };
  /** GraphQL requests that reached identity's /graphql endpoint so far. */
  identityGraphQLRequests(): number;
  /** GraphQL requests that reached any subgraph's /graphql endpoint so far. */
  subgraphGraphQLRequests(): number;
  /**
   * Another router over the same subgraphs (e.g. to share a budget across instances); `revocations` replaces the
   * feed `StackOptions.revocationBus` would give it.
   */
  startRouter(
    routerEnv?: Record<string, string>,
    revocations?: RevocationFeed,
    subscriptions?: Partial<SubscriptionSettings>,
  ): Promise<RunningRouter>;
  query<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): ReturnType<typeof graphql<T>>;
  /** Logs in as the admin through the router. */
  loginAdmin(): Promise<{ accessToken: string; refreshToken: string; userId: string }>;
}

export interface StackOptions {
  /** The bus the subgraphs publish to (default: a new MemoryEventBus); closed with the stack. */
  bus?: EventBus;
  /**
   * Gives every router a revocation feed (ADR 0013) on the bus this returns for it (the stack's own bus, or a
   * Kafka client of the router's own); each is closed with the stack, before the stack's bus.
   */
  revocationBus?: (stackBus: EventBus) => EventBus;
  /**
   * Every component uses this Redis for everything (cache, live channels, budgets), e.g. a private one a test
   * stops and starts; otherwise only the shared cache is on `TEST_REDIS_URL`.
   */
  redisUrl?: string;
  /** Extra environment of chat and orchestration (e.g. their own Redis key prefixes, fast worker polls). */
  subgraphEnv?: Record<string, string>;
  /** Subscription settings of every router (defaults from the environment otherwise). */
  subscriptions?: Partial<SubscriptionSettings>;
}

/** Starts a {@link Stack}; the router's env can be overridden per test file. The one way router tests start one. */
export async function startStack(
  routerEnv: Record<string, string> = {},
  options: StackOptions = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  const secret = testSecret();
  const signingKeySecret = testSecret();
  const redisUrl = options.redisUrl ?? process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const everywhere: Record<string, string> = options.redisUrl ? { REDIS_URL: options.redisUrl } : {};
  const kv = new RedisKeyValueStore(redisUrl, { keyPrefix: `test:${randomUUID()}:` });
  const bus = options.bus ?? new MemoryEventBus();
  const logger = createLogger({
    service: 'router-test',
    level: (process.env['TEST_LOG_LEVEL'] ?? 'silent') as 'silent',
  });
  const dataDir = `/tmp/cap-test-${randomUUID()}`;
  const identity = await startIdentity({
    config: loadIdentityConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      SIGNING_KEY_SECRET: signingKeySecret,
      ...everywhere,
    }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const subgraphEnv = {
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: secret,
    ...everywhere,
    ...options.subgraphEnv,
  };
  const chat = await startChat({
    config: loadChatConfig(subgraphEnv),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const orchestration = await startOrchestration({
    config: loadOrchestrationConfig({
      ...subgraphEnv,
      CLASSIFICATION_TIMEOUT_MS: '0',
      SHELL_EXECUTOR_ENABLED: 'true',
    }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const mlClassifier = await startMlClassifier({
    config: loadMlClassifierConfig({ ...subgraphEnv, TRAINING_CHANGELOGS: 'false' }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const github = await startGithub({
    config: loadGithubConfig(subgraphEnv),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const cicd = await startCicd({
    config: loadCicdConfig({ ...subgraphEnv, CI_POLL_INTERVAL_MS: '0' }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  let graphQLRequests = 0;
  identity.subgraph.server.on('request', (req: { url?: string }) => {
    if (req.url?.startsWith('/graphql')) graphQLRequests += 1;
  });
  let allGraphQLRequests = 0;
  for (const running of [identity.subgraph, chat.subgraph, orchestration.subgraph]) {
    running.server.on('request', (req: { url?: string }) => {
      if (req.url?.startsWith('/graphql')) allGraphQLRequests += 1;
    });
  }
  const extraRouters: RunningRouter[] = [];
  const routerConfig = (
    overrides: Record<string, string>,
    subscriptions: Partial<SubscriptionSettings> | undefined = options.subscriptions,
  ) => {
    const config = loadConfig({
      NODE_ENV: 'development',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      ...subgraphUrlEnv({ identity, chat, orchestration, 'ml-classifier': mlClassifier, github, cicd }),
      IDENTITY_INTERNAL_URL: identity.subgraph.url,
      SUPERGRAPH_POLL_INTERVAL_MS: '0',
      ...everywhere,
      ...overrides,
    });
    return subscriptions ? Object.assign(config, { subscriptions }) : config;
  };
  const feeds: Array<{ feed: RevocationFeed; bus: EventBus }> = [];
  const revocations = async (): Promise<{ revocations?: RevocationFeed }> => {
    if (!options.revocationBus) return {};
    const feedBus = options.revocationBus(bus);
    const feed = new RevocationFeed({ bus: feedBus, logger });
    feeds.push({ feed, bus: feedBus });
    await feed.start();
    return { revocations: feed };
  };
  const router = await startRouter({ config: routerConfig(routerEnv), kv, logger, ...(await revocations()) });
  const admin = identity.bootstrappedAdmin;
  if (!admin) throw new Error('expected a bootstrapped admin');
  const stack: Stack = {
    router,
    identity,
    chat,
    orchestration,
    mlClassifier,
    github,
    cicd,
    db,
    kv,
    bus,
    logger,
    dataDir,
    chatEnv: subgraphEnv,
    secret,
    signingKeySecret,
    admin,
    identityGraphQLRequests: () => graphQLRequests,
    subgraphGraphQLRequests: () => allGraphQLRequests,
    startRouter: async (overrides = routerEnv, feed, subscriptions) => {
      const another = await startRouter({
        config: routerConfig(overrides, subscriptions),
        kv,
        logger,
        ...(feed ? { revocations: feed } : await revocations()),
      });
      extraRouters.push(another);
      return another;
    },
    query: (query, variables = {}, headers = {}) => graphql(router.graphqlUrl, query, variables, headers),
    loginAdmin: async () => {
      const result = await stack.query<{
        login: { accessToken: string; refreshToken: string; user: { id: string } };
      }>(
        `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken user { id } } }`,
        { e: admin.email, p: admin.password },
      );
      if (!result.data) throw new Error(`login failed: ${JSON.stringify(result.errors)}`);
      return { ...result.data.login, userId: result.data.login.user.id };
    },
    [Symbol.asyncDispose]: async () => {
      for (const another of extraRouters) await another.close();
      await router.close();
      await cicd.close();
      await github.close();
      await mlClassifier.close();
      await orchestration.close();
      await chat.close();
      await identity.close();
      for (const { feed, bus: feedBus } of feeds) {
        await feed.close();
        if (feedBus !== bus) await feedBus.close();
      }
      await bus.close();
      await kv.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** The Redis the router's tests use (`TEST_REDIS_URL`). */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A test file's {@link Stack} and its admin's session, once {@link useStackWithAdmin}'s `beforeAll` ran. */
export interface StackWithAdmin {
  readonly stack: Stack;
  readonly admin: { accessToken: string; refreshToken: string; userId: string };
}

/**
 * Starts one {@link Stack} for the calling test file before its tests and logs its admin in; disposes it after
 * them. Read `stack` and `admin` inside tests (they are set by then).
 */
export function useStackWithAdmin(): StackWithAdmin {
  let stack: Stack | undefined;
  let admin: StackWithAdmin['admin'] | undefined;
  beforeAll(async () => {
    stack = await startStack();
    admin = await stack.loginAdmin();
  });
  afterAll(async () => {
    await stack?.[Symbol.asyncDispose]();
  });
  return {
    get stack() {
      if (!stack) throw new Error('the stack is not started (read it inside a test)');
      return stack;
    },
    get admin() {
      if (!admin) throw new Error('the admin is not logged in (read it inside a test)');
      return admin;
    },
  };
}
