import { databaseTargetFromEnv, openDatabase, type Database } from '@cap/db';
import { createEventBus, type EventBus } from '@cap/messaging';
import { createKeyValueStore, type KeyValueStore, type Logger, type Shutdown } from '@cap/runtime';

/** The variables that choose the shared infrastructure (each subgraph's and the platform's configuration has them). */
export interface InfrastructureConfig {
  DATA_DIR: string;
  /** Unset: embedded PostgreSQL (PGlite) under DATA_DIR. */
  DATABASE_URL?: string | undefined;
  /** Pooled PostgreSQL connections per subgraph; unset: the database package's default. */
  DATABASE_POOL_SIZE?: number | undefined;
  /** How long a transaction waits to start, ms; unset: the database package's default. */
  DATABASE_TRANSACTION_MAX_WAIT_MS?: number | undefined;
  /** Unset: the in-memory key-value store. */
  REDIS_URL?: string | undefined;
  /** Unset or empty: the in-memory event bus. */
  KAFKA_BROKERS?: string[] | undefined;
}

/** What every subgraph is started on: one database, one key-value store, one event bus. */
export interface Infrastructure {
  database: Database;
  kv: KeyValueStore;
  bus: EventBus;
}

/**
 * Opens the database, the key-value store and the event bus, in that order, registering each in `shutdown` as
 * soon as it is open ('database', 'cache', 'event bus'), so a failure halfway leaves nothing that `shutdown` does
 * not close, and closing releases them newest first, after whatever is registered later (the services on them).
 * `clientId` names this process to Kafka.
 */
export async function openInfrastructure(options: {
  config: InfrastructureConfig;
  clientId: string;
  logger: Logger;
  shutdown: Shutdown;
}): Promise<Infrastructure> {
  const { config, clientId, logger, shutdown } = options;
  const database = await openDatabase(
    databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
    {
      logger: logger.child({ component: 'database' }),
      poolSize: config.DATABASE_POOL_SIZE,
      transactionMaxWaitMs: config.DATABASE_TRANSACTION_MAX_WAIT_MS,
    },
  );
  shutdown.add('database', () => database.close());
  const kv = createKeyValueStore(config.REDIS_URL);
  shutdown.add('cache', () => kv.close());
  const bus = createEventBus({
    brokers: config.KAFKA_BROKERS,
    clientId,
    logger: logger.child({ component: 'bus' }),
  });
  shutdown.add('event bus', () => bus.close());
  return { database, kv, bus };
}
