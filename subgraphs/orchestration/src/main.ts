import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { startOrchestration } from './app.js';
import { loadConfig } from './config.js';

/** Orchestration process entry (distributed deployment): the subgraph, its workers, sweeper and consumer. */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'orchestration', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
// Running executions get SHUTDOWN_GRACE_MS to finish; the rest of the shutdown gets 15 s more.
shutdown.handleSignals({ timeoutMs: config.SHUTDOWN_GRACE_MS + 15_000 });

const database = await openDatabase(
  databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
  { logger },
);
shutdown.add('database', () => database.close());
const kv = createKeyValueStore(config.REDIS_URL);
shutdown.add('cache', () => kv.close());
const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'orchestration', logger });
shutdown.add('event bus', () => bus.close());

const orchestration = await startOrchestration({ config, database, kv, bus, logger });
shutdown.add('orchestration', () => orchestration.close());
