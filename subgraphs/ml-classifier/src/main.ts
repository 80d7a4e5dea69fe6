import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { startMlClassifier } from './app.js';
import { loadConfig } from './config.js';

/** ML classifier process entry (distributed deployment). */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'ml-classifier', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();

const database = await openDatabase(
  databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
  { logger },
);
shutdown.add('database', () => database.close());
const kv = createKeyValueStore(config.REDIS_URL);
shutdown.add('cache', () => kv.close());
const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'ml-classifier', logger });
shutdown.add('event bus', () => bus.close());

const classifier = await startMlClassifier({ config, database, kv, bus, logger });
shutdown.add('ml-classifier', () => classifier.close());
