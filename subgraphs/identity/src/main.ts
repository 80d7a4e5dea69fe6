import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { saveAdminCredentials } from './adminCredentials.js';
import { startIdentity } from './app.js';
import { loadConfig } from './config.js';

/** Identity process entry (distributed deployment). */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'identity', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();

const database = await openDatabase(
  databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
  { logger },
);
shutdown.add('database', () => database.close());
const kv = createKeyValueStore(config.REDIS_URL);
shutdown.add('cache', () => kv.close());
const bus = createEventBus({ brokers: config.KAFKA_BROKERS, clientId: 'identity', logger });
shutdown.add('event bus', () => bus.close());

const identity = await startIdentity({ config, database, kv, bus, logger });
shutdown.add('identity', () => identity.close());
if (identity.bootstrappedAdmin?.generated) {
  const file = saveAdminCredentials(config.DATA_DIR, identity.bootstrappedAdmin);
  process.stdout.write(
    `\nFirst start: created admin ${identity.bootstrappedAdmin.email} with password ${identity.bootstrappedAdmin.password}\n` +
      `It is shown only this once (and saved in ${file}, readable by you only).\n\n`,
  );
}
