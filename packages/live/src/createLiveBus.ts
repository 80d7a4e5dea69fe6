import type { Redis } from 'ioredis';
import type { LiveBus } from './LiveBus.js';
import { MemoryLiveBus } from './MemoryLiveBus.js';
import { RedisLiveBus, type RedisLiveBusOptions } from './RedisLiveBus.js';

/**
 * Redis pub/sub when `redis` is given (a URL, or a command connection to share; several instances), in process
 * otherwise (one instance). The other options are {@link RedisLiveBus}'s and matter only with Redis.
 */
export function createLiveBus(options: RedisLiveBusOptions & { redis: string | Redis | undefined }): LiveBus {
  const { redis, ...rest } = options;
  return redis ? new RedisLiveBus(redis, rest) : new MemoryLiveBus();
}
