import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { loadConfig as loadChatConfig, startChat } from '@cap/chat';
import { loadGithubConfig, startGithub } from '@cap/github';
import { loadConfig as loadCicdConfig, startCicd } from '@cap/cicd';
import { loadConfig as loadIdentityConfig, startIdentity } from '@cap/identity';
import { MemoryEventBus } from '@cap/messaging';
import { loadConfig as loadMlClassifierConfig, startMlClassifier } from '@cap/ml-classifier';
import { loadConfig as loadOrchestrationConfig, startOrchestration } from '@cap/orchestration';
import { createLogger, RedisKeyValueStore, type KeyValueStore } from '@cap/runtime';
import { createTestDatabase, testSecret } from '@cap/testkit';
import type { Database } from '@cap/db';
import type { EventBus } from '@cap/messaging';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Sockets, servers and timers this process holds (what would keep it alive or leak). */
function openHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return {
    sockets: counts['TCPSocketWrap'] ?? 0,
    servers: counts['TCPServerWrap'] ?? 0,
    timers: counts['Timeout'] ?? 0,
  };
}

async function sessionsOn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>(
      'SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return Number(result.rows[0]!.count);
  } finally {
    await client.end();
  }
}

/**
 * Polls `read` (closing sockets settle asynchronously) until `done` holds or 2 s passed, less than the pools'
 * idle timeout, which would otherwise close a leaked pool's connections and hide the leak. Returns the last value.
 */
async function settle<T>(read: () => T | Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 20 && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

interface Infrastructure {
  database: Database;
  kv: KeyValueStore;
  bus: EventBus;
}

/**
 * Starts a subgraph on a port that is already taken, so its start fails at listen, after it migrated and opened
 * its Prisma pool, its relay and (chat) its Redis connection. Everything it opened must be released by then.
 */
async function expectFailedStartReleasesEverything(
  start: (port: number, infrastructure: Infrastructure) => Promise<unknown>,
): Promise<void> {
  const db = await createTestDatabase();
  const kv = new RedisKeyValueStore(REDIS_URL, { keyPrefix: `test:${randomUUID()}:` });
  const bus = new MemoryEventBus();
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    await db.database.ping();
    await kv.ping();
    const sessionsBefore = await sessionsOn(db.url);
    const handlesBefore = openHandles();
    await expect(
      start((taken.address() as { port: number }).port, { database: db.database, kv, bus }),
    ).rejects.toThrow(/EADDRINUSE/);
    // The migration's session belongs to the shared Database (it stays); the subgraph's Prisma pool must be gone.
    expect(
      await settle(
        () => sessionsOn(db.url),
        (sessions) => sessions <= sessionsBefore,
      ),
    ).toBeLessThanOrEqual(sessionsBefore);
    // Timers of the database driver come and go; none may be left beyond what was there before the start.
    const notMore = (handles: Record<string, number>): boolean =>
      Object.entries(handles).every(([kind, count]) => count <= handlesBefore[kind]!);
    const handlesAfter = await settle(openHandles, notMore);
    expect(notMore(handlesAfter), JSON.stringify({ handlesBefore, handlesAfter })).toBe(true);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    await bus.close();
    await kv.close();
    await db.drop();
  }
}

const logger = createLogger({ service: 'failed-start-test', level: 'silent' });
const common = (port: number): Record<string, string> => ({
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: String(port),
  DATA_DIR: `/tmp/cap-test-${randomUUID()}`,
  INTERNAL_TOKEN_SECRET: testSecret(),
  LOG_LEVEL: 'silent',
});

describe('a subgraph whose start fails after the database opened', () => {
  it('identity leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startIdentity({
        ...infrastructure,
        logger,
        config: loadIdentityConfig({ ...common(port), SIGNING_KEY_SECRET: testSecret() }),
      }),
    );
  });

  it('chat (with Redis) leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startChat({
        ...infrastructure,
        logger,
        config: loadChatConfig({
          ...common(port),
          ATTACHMENT_SIGNING_SECRET: testSecret(),
          REDIS_URL,
          REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
        }),
      }),
    );
  });

  it('ml-classifier (model loaded, consumer started) leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startMlClassifier({
        ...infrastructure,
        logger,
        config: loadMlClassifierConfig({ ...common(port), TRAINING_CHANGELOGS: 'false' }),
      }),
    );
  });

  it('github leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startGithub({ ...infrastructure, logger, config: loadGithubConfig(common(port)) }),
    );
  });

  it('orchestration (with Redis and a worker) leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startOrchestration({
        ...infrastructure,
        logger,
        config: loadOrchestrationConfig({
          ...common(port),
          REDIS_URL,
          LIVE_CHANNEL_PREFIX: `test:${randomUUID()}:`,
          WORKER_CONCURRENCY: '1',
          SHUTDOWN_GRACE_MS: '0',
        }),
      }),
    );
  });

  it('cicd (consumer, poller, log processor) leaves no open connection, socket or timer', async () => {
    await expectFailedStartReleasesEverything((port, infrastructure) =>
      startCicd({
        ...infrastructure,
        logger,
        config: loadCicdConfig({ ...common(port), CI_POLL_INTERVAL_MS: '1000' }),
      }),
    );
  });
});
