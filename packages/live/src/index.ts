export type { LiveBus, LiveSubscription } from './LiveBus.js';
export { MemoryLiveBus } from './MemoryLiveBus.js';
export { RedisLiveBus, type RedisLiveBusOptions } from './RedisLiveBus.js';
export { createLiveBus } from './createLiveBus.js';
export { openLiveBus, type LiveBusConfig } from './openLiveBus.js';
export { LiveFeed, type LiveItem } from './LiveFeed.js';
export { interruptible } from './interruptible.js';
export { AsyncQueue } from './AsyncQueue.js';
