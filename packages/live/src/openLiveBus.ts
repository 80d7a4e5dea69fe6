import type { Logger, Shutdown } from '@cap/runtime';
import { createLiveBus } from './createLiveBus.js';
import type { LiveBus } from './LiveBus.js';

/** The configuration variables a subgraph's live bus is opened from. */
export interface LiveBusConfig {
  /** Redis URL; unset = in process (one instance). */
  REDIS_URL?: string | undefined;
  /** Prefix of the subgraph's pub/sub channels. */
  LIVE_CHANNEL_PREFIX: string;
  /** While Redis is unreachable, how often subscribers read the database instead, ms. */
  LIVE_POLL_INTERVAL_MS: number;
}

/**
 * A subgraph's live bus from its configuration ({@link createLiveBus}: Redis pub/sub with REDIS_URL, in process
 * without), registered in `scope` as `<name> live bus` at once.
 */
export function openLiveBus(options: {
  name: string;
  config: LiveBusConfig;
  logger: Logger;
  scope: Shutdown;
}): LiveBus {
  const { config, logger } = options;
  const live = createLiveBus({
    redis: config.REDIS_URL,
    prefix: config.LIVE_CHANNEL_PREFIX,
    pollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
    logger,
  });
  options.scope.add(`${options.name} live bus`, () => live.close());
  return live;
}
