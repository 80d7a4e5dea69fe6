import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { startGithub } from './app.js';
import { loadGithubConfig } from './config.js';

/** The github subgraph's process entry (distributed deployment). */
const config = await exitOnConfigError(loadGithubConfig);
const logger = createLogger({ service: 'github', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();

const database = await openDatabase(
  databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
  { logger },
);
shutdown.add('database', () => database.close());
const kv = createKeyValueStore(config.REDIS_URL);
shutdown.add('cache', () => kv.close());
const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'github', logger });
shutdown.add('event bus', () => bus.close());

const github = await startGithub({ config, database, kv, bus, logger });
shutdown.add('github', () => github.close());
