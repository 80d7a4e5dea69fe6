import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { startCicd } from './app.js';
import { loadConfig } from './config.js';

/** Cicd process entry (distributed deployment). */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'cicd', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();

const database = await openDatabase(
  databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
  { logger },
);
shutdown.add('database', () => database.close());
const kv = createKeyValueStore(config.REDIS_URL);
shutdown.add('cache', () => kv.close());
const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'cicd', logger });
shutdown.add('event bus', () => bus.close());

const cicd = await startCicd({ config, database, kv, bus, logger });
shutdown.add('cicd', () => cicd.close());
