/**
 * The stack the subscription benchmarks run against, in this process on loopback: identity, chat and (optionally)
 * orchestration on a throwaway PostgreSQL database (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432)
 * and Redis (REDIS_URL, default redis://127.0.0.1:6379), and the router in front of them. Shared by
 * bench/subscriptions, bench/task-logs and bench/chat-cache.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { loadConfig as loadRouterConfig, startRouter, type RunningRouter } from '@cap/router';
import { createLogger, RedisKeyValueStore, scopesForRole, type Principal, type Role } from '@cap/runtime';
import { createTestDatabase, graphql, subgraphWsClient, testSecret, type TestDatabase } from '@cap/testkit';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface BenchUser {
  id: string;
  token: string;
  principal: Principal;
}

export interface BenchStack {
  router: RunningRouter;
  identity: RunningIdentity;
  chat: RunningChat;
  orchestration: RunningOrchestration | undefined;
  db: TestDatabase;
  secret: string;
  adminToken: string;
  /** A DEVELOPER user with a 1-hour access token signed by identity's key ring. */
  createUser(name: string, role?: Role): Promise<BenchUser>;
  /** A GraphQL operation through the router over HTTP; throws on errors. */
  call<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T>;
  /** A graphql-ws client to the router (credentials in connection_init). */
  routerClient(token: string): Client;
  /** A graphql-ws client straight to a subgraph, as the router connects (router token in connection_init). */
  subgraphClient(subgraph: 'chat' | 'orchestration', principal: Principal): Client;
  close(): Promise<void>;
}

export async function startBenchStack(options: {
  orchestration?: boolean;
  /** Overrides of the router's subscription settings (router/src/subscriptions/settings.ts). */
  subscriptions?: Record<string, unknown>;
  orchestrationEnv?: Record<string, string>;
}): Promise<BenchStack> {
  const logger = createLogger({ service: 'bench', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const db = await createTestDatabase();
  const secret = testSecret();
  const signingKeySecret = testSecret();
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-bench-'));
  const kv = new RedisKeyValueStore(REDIS_URL, { keyPrefix: `bench:${randomUUID()}:` });
  const bus = new MemoryEventBus();
  const common = {
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    INTERNAL_TOKEN_SECRET: secret,
  };
  const identity = await startIdentity({
    config: loadIdentityConfig({ ...common, SIGNING_KEY_SECRET: signingKeySecret }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const chat = await startChat({
    config: loadChatConfig({
      ...common,
      ATTACHMENT_SIGNING_SECRET: testSecret(),
      REDIS_URL,
      REDIS_KEY_PREFIX: `bench:${randomUUID()}:`,
    }),
    database: db.database,
    kv,
    bus,
    logger,
  });
  const orchestration = options.orchestration
    ? await startOrchestration({
        config: loadOrchestrationConfig({
          ...common,
          REDIS_URL,
          LIVE_CHANNEL_PREFIX: `bench:${randomUUID()}:`,
          WORKSPACE_ROOT: dataDir,
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          CLASSIFICATION_TIMEOUT_MS: '0',
          WORKER_POLL_INTERVAL_MS: '100',
          SHUTDOWN_GRACE_MS: '0',
          ...options.orchestrationEnv,
        }),
        database: db.database,
        kv,
        bus,
        logger,
      })
    : undefined;
  const config = Object.assign(
    loadRouterConfig({
      NODE_ENV: 'development',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      INTERNAL_TOKEN_SECRET: secret,
      SUBGRAPH_IDENTITY_URL: identity.subgraph.graphqlUrl,
      SUBGRAPH_CHAT_URL: chat.subgraph.graphqlUrl,
      ...(orchestration ? { SUBGRAPH_ORCHESTRATION_URL: orchestration.subgraph.graphqlUrl } : {}),
      IDENTITY_INTERNAL_URL: identity.subgraph.url,
      SUPERGRAPH_POLL_INTERVAL_MS: '0',
      // Benchmarks measure delivery, not budgets: one user sends far more than a person would.
      RATE_LIMIT_USER: '100000000/1h',
    }),
    {
      subscriptions: { maxConnectionsPerAddress: 100_000, maxConnections: 100_000, ...options.subscriptions },
    },
  );
  const router = await startRouter({ config, kv, logger });
  const clients = new Set<Client>();

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
  if (!login.data) throw new Error(`admin login failed: ${JSON.stringify(login.errors)}`);
  const adminToken = login.data['login'].accessToken as string;
  const call = async <T = any>(
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ): Promise<T> => {
    const result = await graphql<T>(router.graphqlUrl, query, variables, {
      authorization: `Bearer ${token}`,
    });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!;
  };
  const ring = new SigningKeyRing({
    prisma: identity.deps.prisma,
    secret: signingKeySecret,
    audience: 'cap-router',
    issuer: 'cap-identity',
    accessTokenTtlSeconds: 3_600,
  });

  return {
    router,
    identity,
    chat,
    orchestration,
    db,
    secret,
    adminToken,
    call,
    createUser: async (name, role = 'DEVELOPER') => {
      const { createUser } = await call(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`,
        {
          input: {
            email: `${name}-${randomUUID()}@example.com`,
            password: 'correct-horse-battery',
            displayName: name,
            role,
          },
        },
        adminToken,
      );
      const scopes = scopesForRole(role);
      const { token } = await ring.signAccessToken({
        userId: createUser.id,
        role,
        scopes,
        sessionId: randomUUID(),
      });
      return { id: createUser.id, token, principal: { kind: 'user', userId: createUser.id, role, scopes } };
    },
    routerClient: (token) => {
      const client = createClient({
        url: router.graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: true,
      });
      clients.add(client);
      return client;
    },
    subgraphClient: (subgraph, principal) => {
      const running = subgraph === 'chat' ? chat : orchestration;
      if (!running) throw new Error(`${subgraph} is not running`);
      const client = subgraphWsClient(running.subgraph.graphqlUrl, secret, principal);
      clients.add(client);
      return client;
    },
    close: async () => {
      await Promise.allSettled([...clients].map((client) => client.dispose()));
      await router.close();
      await orchestration?.close({ graceMs: 0 });
      await chat.close();
      await identity.close();
      await bus.close();
      await kv.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The p-th percentile (0-100) of `values` (sorted copy). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Waits until `condition()` holds; throws after `timeoutMs` with `what()`. */
export async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { printTable } from '../table.js';
