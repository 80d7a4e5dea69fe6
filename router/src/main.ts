import cluster from 'node:cluster';
import { createEventBus } from '@cap/messaging';
import { createKeyValueStore, createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { loadConfig } from './config.js';
import { RevocationFeed } from './revocation/RevocationFeed.js';
import { startRouter } from './startRouter.js';
import { superviseWorkers, workerCount } from './workers.js';

/** Router process entry (distributed deployment). */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'router', level: config.logLevel });
const workers = workerCount(config.workers);
if (workers > 1 && cluster.isPrimary) superviseWorkers({ count: workers, logger });
else await serve();

/** One router process: the whole router, alone or as one of the workers sharing the port. */
async function serve(): Promise<void> {
  const shutdown = new Shutdown(logger);
  shutdown.handleSignals();
  const kv = createKeyValueStore(config.redisUrl);
  shutdown.add('cache', () => kv.close());
  let revocations: RevocationFeed | undefined;
  if (config.kafkaBrokers?.length) {
    const bus = createEventBus({
      brokers: config.kafkaBrokers,
      clientId: 'router',
      logger: logger.child({ component: 'bus' }),
    });
    shutdown.add('event bus', () => bus.close());
    revocations = new RevocationFeed({ bus, logger: logger.child({ component: 'revocations' }) });
    shutdown.add('revocation feed', () => revocations!.close());
    // Not awaited: the router starts (and /ready reports the feed) while Kafka is still coming up.
    void revocations.start();
  } else {
    // Only development gets here (config refuses production without KAFKA_BROKERS): say it loudly.
    logger.warn(
      {},
      'KAFKA_BROKERS unset: role changes, deactivations and revoked API keys apply only when tokens expire',
    );
  }
  const router = await startRouter({ config, kv, logger, ...(revocations ? { revocations } : {}) });
  shutdown.add('router', () => router.close());
}
