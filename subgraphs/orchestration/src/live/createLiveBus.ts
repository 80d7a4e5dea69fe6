import type { Logger } from '@cap/runtime';
import type { LiveBus } from './LiveBus.js';
import { MemoryLiveBus } from './MemoryLiveBus.js';
import { RedisLiveBus } from './RedisLiveBus.js';

/**
 * Redis pub/sub when `redisUrl` is set (several instances), in-process otherwise (one instance).
 * `pollIntervalMs`: how often subscribers re-read the database while Redis is unreachable.
 */
export function createLiveBus(options: { redisUrl: string | undefined; prefix: string; pollIntervalMs?: number; logger?: Logger }): LiveBus {
  if (options.redisUrl) {
    return new RedisLiveBus(options.redisUrl, {
      prefix: options.prefix,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  return new MemoryLiveBus();
}
