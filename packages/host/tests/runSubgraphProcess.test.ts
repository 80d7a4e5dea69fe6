import { type Infrastructure, openInfrastructure, runSubgraphProcess } from '@cap/host';
import { createLogger, Shutdown } from '@cap/runtime';
import { createTestDatabase } from '@cap/testkit';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** A logger whose lines are kept, so a test can read what was closed and in which order. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ service: 'host-test', level: 'error', destination }), lines: () => chunks };
}

describe('openInfrastructure', () => {
  it('opens PostgreSQL, Redis and Kafka from the configuration and closes them with the shutdown', async () => {
    await using db = await createTestDatabase();
    const { logger } = recordingLogger();
    const shutdown = new Shutdown(logger);
    const opened = await openInfrastructure({
      config: { DATA_DIR: '.data', DATABASE_URL: db.url, REDIS_URL, KAFKA_BROKERS },
      clientId: 'host-test',
      logger,
      shutdown,
    });
    expect(opened.kv.kind).toBe('redis');
    expect(await opened.database.ping()).toBeGreaterThanOrEqual(0);
    expect(await opened.kv.ping()).toBeGreaterThanOrEqual(0);
    await shutdown.close();
    await expect(opened.database.ping()).rejects.toThrow();
    await expect(opened.kv.ping()).rejects.toThrow();
  });
});

describe('runSubgraphProcess', () => {
  it('starts the service on the infrastructure and returns it with its configuration', async () => {
    await using db = await createTestDatabase();
    let seen: Infrastructure | undefined;
    const config = { LOG_LEVEL: 'error', DATA_DIR: '.data', DATABASE_URL: db.url, REDIS_URL };
    const { running, config: used } = await runSubgraphProcess({
      service: 'host-test',
      loadConfig: () => config,
      start: async (options) => {
        seen = options;
        expect(options.config).toBe(config);
        return { close: async () => {}, pinged: await options.database.ping() };
      },
    });
    expect(used).toBe(config);
    expect(running.pinged).toBeGreaterThanOrEqual(0);
    expect(seen?.bus).toBeDefined();
    // Left open on purpose by a running process (signals close it); released here for the test.
    await seen?.kv.close();
    await seen?.bus.close();
    await seen?.database.close();
  });

  it('closes what it opened when the start fails, then rethrows', async () => {
    await using db = await createTestDatabase();
    let seen: Infrastructure | undefined;
    const failure = new Error('start failed on purpose');
    await expect(
      runSubgraphProcess({
        service: 'host-test',
        loadConfig: () => ({ LOG_LEVEL: 'error', DATA_DIR: '.data', DATABASE_URL: db.url, REDIS_URL }),
        start: (options) => {
          seen = options;
          return Promise.reject(failure);
        },
      }),
    ).rejects.toBe(failure);
    await expect(seen!.database.ping()).rejects.toThrow();
    await expect(seen!.kv.ping()).rejects.toThrow();
  });
});
