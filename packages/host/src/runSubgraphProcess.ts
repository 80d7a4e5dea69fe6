import { createLogger, exitOnConfigError, Shutdown, type Logger } from '@cap/runtime';
import { openInfrastructure, type Infrastructure, type InfrastructureConfig } from './infrastructure.js';

/** The configuration a subgraph process needs here: the infrastructure's variables and its log level. */
export interface SubgraphProcessConfig extends InfrastructureConfig {
  LOG_LEVEL: string;
}

/** What `start` receives: the subgraph's `start<Name>` options. */
export interface SubgraphStartOptions<C> extends Infrastructure {
  config: C;
  logger: Logger;
}

/**
 * The process entry of a subgraph (distributed deployment), the one shape of every `src/main.ts`:
 *
 * 1. reads the configuration with `loadConfig`; a configuration error prints the bad variables (no stack trace)
 *    and exits with the configuration exit code;
 * 2. creates the logger (`service`) and a `Shutdown` that handles SIGINT/SIGTERM (`shutdownTimeoutMs`, default
 *    the Shutdown's own);
 * 3. opens the database, key-value store and event bus (`openInfrastructure`, Kafka client id = `service`);
 * 4. calls `start` with them and registers the running service's `close` under `service`, so a signal closes the
 *    service first, then the event bus, the cache and the database.
 *
 * A start that fails closes what was opened, then rethrows (the process exits with the error). Returns the
 * configuration and the running service for anything a subgraph does after start (identity prints its first
 * admin's credentials).
 */
export async function runSubgraphProcess<
  C extends SubgraphProcessConfig,
  R extends { close(): Promise<void> },
>(options: {
  service: string;
  loadConfig: () => C;
  start: (options: SubgraphStartOptions<C>) => Promise<R>;
  shutdownTimeoutMs?: (config: C) => number;
}): Promise<{ config: C; running: R; logger: Logger }> {
  const config = await exitOnConfigError(options.loadConfig);
  const logger = createLogger({ service: options.service, level: config.LOG_LEVEL });
  const shutdown = new Shutdown(logger);
  shutdown.handleSignals(options.shutdownTimeoutMs ? { timeoutMs: options.shutdownTimeoutMs(config) } : {});
  try {
    const infrastructure = await openInfrastructure({
      config,
      clientId: options.service,
      logger,
      shutdown,
    });
    const running = await options.start({ config, logger, ...infrastructure });
    shutdown.add(options.service, () => running.close());
    return { config, running, logger };
  } catch (error) {
    await shutdown.close();
    throw error;
  }
}
