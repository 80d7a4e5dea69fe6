import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { KafkaEventBus, MemoryEventBus, type EventBus } from '@cap/messaging';
import { createLogger, RedisKeyValueStore, type Principal } from '@cap/runtime';
import {
  addFakeRepository,
  asRouter,
  createTestDatabase,
  graphql,
  kafkaBrokersFromEnv,
  startFakeGithub,
  subgraphWsClient,
  testSecret,
  waitFor,
  type FakeGithub,
  type WebhookDelivery,
} from '@cap/testkit';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { loadGithubConfig, startGithub, type RunningGithub } from '../src/index.js';

export interface GithubHarness extends AsyncDisposable {
  github: RunningGithub;
  fake: FakeGithub;
  secret: string;
  webhookSecret: string;
  bus: EventBus;
  /** Every log line the subgraph wrote (JSON), to assert that no secret reached one. */
  logs: string[];
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): ReturnType<typeof graphql<T>>;
  /** A graphql-ws client of the subgraph as the router connects (released with the harness). */
  ws(principal: Principal): Client;
  /** Waits until the subgraph holds a Redis subscription of the live `topic` (a subscriber is listening). */
  listening(topic: string): Promise<void>;
  /** Posts a webhook delivery to the subgraph. */
  deliver(
    delivery: WebhookDelivery | { body: Buffer<ArrayBuffer>; headers: Record<string, string> },
  ): Promise<Response>;
  /** Outbox events of `type` recorded so far. */
  outbox(type?: string): Promise<Array<{ type: string; payload: Record<string, unknown> }>>;
}

/**
 * The github subgraph on a fresh PostgreSQL database, real Redis, an in-memory bus (or Kafka), and the fake GitHub (App id
 * and key, OAuth client, a repository `acme/widgets` the App is installed on).
 */
export async function startGithubHarness(
  env: Record<string, string> = {},
  options: { kafka?: boolean } = {},
): Promise<GithubHarness> {
  const fake = await startFakeGithub();
  addFakeRepository(fake, { owner: 'acme', name: 'widgets', installationId: 77 });
  const db = await createTestDatabase();
  const secret = testSecret();
  const webhookSecret = `whsec-${randomUUID()}`;
  const kv = new RedisKeyValueStore(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    keyPrefix: `test:${randomUUID()}:`,
  });
  // The real broker when asked (KAFKA_BROKERS, default 127.0.0.1:9092), else the in-memory bus.
  const bus: EventBus = options.kafka
    ? new KafkaEventBus({ brokers: kafkaBrokersFromEnv(), clientId: `github-test-${randomUUID()}` })
    : new MemoryEventBus();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const livePrefix = `test:${randomUUID()}:`;
  const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const config = loadGithubConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: `/tmp/cap-test-${randomUUID()}`,
    DATABASE_URL: db.url,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: 'debug',
    GITHUB_API_URL: fake.apiUrl,
    GITHUB_WEB_URL: fake.url,
    GITHUB_APP_ID: String(fake.app.id),
    GITHUB_APP_PRIVATE_KEY: fake.app.privateKey,
    GITHUB_CLIENT_ID: fake.oauth.clientId,
    GITHUB_CLIENT_SECRET: fake.oauth.clientSecret,
    GITHUB_OAUTH_REDIRECT_URL: 'http://127.0.0.1:4000/oauth/github/callback',
    GITHUB_WEBHOOK_SECRET: webhookSecret,
    GITHUB_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    GITHUB_WEBHOOK_RETRY_INTERVAL_MS: '200',
    GITHUB_PULL_REQUEST_RETRY_INTERVAL_MS: '100',
    // Polling is off unless a test turns it on: it would add GitHub calls to other tests' counts.
    GITHUB_PR_POLL_INTERVAL_MS: '0',
    // Live fan-out through the real Redis, on channels of this harness only.
    REDIS_URL: redisUrl,
    LIVE_CHANNEL_PREFIX: livePrefix,
    GITHUB_RETRY_AFTER_BASE_MS: '10',
    TASK_URL_TEMPLATE: 'http://127.0.0.1:4000/tasks/{taskId}',
    ...env,
  });
  let github: RunningGithub;
  try {
    github = await startGithub({
      config,
      database: db.database,
      kv,
      bus,
      logger: createLogger({ service: 'github-test', level: 'debug', destination }),
    });
  } catch (error) {
    await Promise.allSettled([bus.close(), kv.close(), db.drop(), fake.close()]);
    throw error;
  }
  const clients: Client[] = [];
  return {
    github,
    fake,
    ws: (principal) => {
      const client = subgraphWsClient(github.subgraph.graphqlUrl, secret, principal);
      clients.push(client);
      return client;
    },
    secret,
    webhookSecret,
    bus,
    logs,
    call: async (query, variables = {}, principal) =>
      graphql(github.subgraph.graphqlUrl, query, variables, await asRouter(secret, principal)),
    listening: async (topic) => {
      const redis = new Redis(redisUrl);
      try {
        await waitFor(
          async () => ((await redis.pubsub('NUMSUB', `${livePrefix}${topic}`)) as [string, number])[1] > 0,
          { message: `a subscriber of ${topic}` },
        );
      } finally {
        redis.disconnect();
      }
    },
    deliver: (delivery) =>
      fetch(`${github.subgraph.url}/webhooks/github`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      }),
    outbox: async (type) => {
      const rows = await github.deps.prisma.outboxEvent.findMany({ orderBy: { seq: 'asc' } });
      return rows
        .filter((row) => type === undefined || row.type === type)
        .map((row) => ({
          type: row.type,
          // The row holds the whole envelope (the record's value); its `payload` is the event's.
          payload: (row.payload as { payload: Record<string, unknown> }).payload,
        }));
    },
    [Symbol.asyncDispose]: async () => {
      await Promise.all(clients.map((client) => client.dispose()));
      await github.close();
      await bus.close();
      await kv.close();
      await db.drop();
      await fake.close();
    },
  };
}

export const CONNECT = /* GraphQL */ `
  mutation ($owner: String!, $name: String!) {
    connectRepository(owner: $owner, name: $name) {
      id
      fullName
      defaultBranch
      visibility
      access
    }
  }
`;
