import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseTargetFromEnv, openDatabase, type Database } from '@cap/db';
import { loadConfig as loadIdentityConfig, startIdentity, type RunningIdentity } from '@cap/identity';
import { createEventBus, type EventBus } from '@cap/messaging';
import { loadConfig as loadRouterConfig, startRouter, type RunningRouter } from '@cap/router';
import { createKeyValueStore, Shutdown, type KeyValueStore, type Logger } from '@cap/runtime';
import type { PlatformConfig } from './config.js';

export interface RunningPlatform {
  router: RunningRouter;
  identity: RunningIdentity;
  database: Database;
  kv: KeyValueStore;
  bus: EventBus;
  /** Where the first admin's generated credentials were written (development, first start only). */
  adminCredentialsFile: string | null;
  close(): Promise<void>;
}

/**
 * Starts every subgraph and the router in one process on shared infrastructure: embedded PostgreSQL (PGlite)
 * or DATABASE_URL, in-memory or Redis cache, in-memory or Kafka event bus.
 */
export async function startPlatform(options: {
  config: PlatformConfig;
  env: Record<string, string | undefined>;
  logger: Logger;
}): Promise<RunningPlatform> {
  const { config, env, logger } = options;
  const shutdown = new Shutdown(logger);
  try {
    const database = await openDatabase(
      databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
      { logger: logger.child({ component: 'database' }) },
    );
    shutdown.add('database', () => database.close());
    const kv = createKeyValueStore(config.REDIS_URL);
    shutdown.add('cache', () => kv.close());
    const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'platform', logger: logger.child({ component: 'bus' }) });
    shutdown.add('event bus', () => bus.close());

    // Subgraphs listen on ephemeral loopback ports; only the router faces clients.
    const identityConfig = loadIdentityConfig({ ...env, HOST: '127.0.0.1', PORT: '0' });
    const identity = await startIdentity({
      config: identityConfig,
      database,
      kv,
      bus,
      logger: logger.child({ service: 'identity' }),
    });
    shutdown.add('identity', () => identity.close());

    const routerConfig = loadRouterConfig({
      ...env,
      HOST: config.HOST,
      PORT: String(config.PORT),
      SUBGRAPH_IDENTITY_URL: identity.subgraph.graphqlUrl,
      IDENTITY_INTERNAL_URL: identity.subgraph.url,
    });
    const router = await startRouter({ config: routerConfig, kv, logger: logger.child({ service: 'router' }) });
    shutdown.add('router', () => router.close());

    let adminCredentialsFile: string | null = null;
    if (identity.bootstrappedAdmin?.generated) {
      mkdirSync(config.DATA_DIR, { recursive: true });
      adminCredentialsFile = join(config.DATA_DIR, 'admin-credentials.txt');
      writeFileSync(
        adminCredentialsFile,
        `email: ${identity.bootstrappedAdmin.email}\npassword: ${identity.bootstrappedAdmin.password}\n`,
        { mode: 0o600 },
      );
      chmodSync(adminCredentialsFile, 0o600);
    }
    return { router, identity, database, kv, bus, adminCredentialsFile, close: () => shutdown.close() };
  } catch (error) {
    await shutdown.close();
    throw error;
  }
}
