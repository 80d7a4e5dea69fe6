import type { EventBus } from './EventBus.js';
import { KafkaEventBus } from './KafkaEventBus.js';
import type { Logger } from './logger.js';
import { MemoryEventBus } from './MemoryEventBus.js';

/** Kafka when brokers are configured (KAFKA_BROKERS), the in-process bus otherwise (embedded mode). */
export function createEventBus(options: {
  brokers: string[] | undefined;
  clientId: string;
  logger?: Logger;
}): EventBus {
  if (options.brokers && options.brokers.length > 0) {
    return new KafkaEventBus({
      brokers: options.brokers,
      clientId: options.clientId,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  return new MemoryEventBus();
}
