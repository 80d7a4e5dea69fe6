import { createKeyValueStore, createLogger, Shutdown } from '@cap/runtime';
import { loadConfig } from './config.js';
import { startRouter } from './router.js';

/** Router process entry (distributed deployment). */
const config = loadConfig();
const logger = createLogger({ service: 'router', level: config.logLevel });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();
const kv = createKeyValueStore(config.redisUrl);
shutdown.add('cache', () => kv.close());
const router = await startRouter({ config, kv, logger });
shutdown.add('router', () => router.close());
