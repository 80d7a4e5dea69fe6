import { KafkaEventBus } from '@cap/messaging';
import { kafkaBrokersFromEnv } from '@cap/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { LONG_API_KEY_CACHE_SECONDS, revocationScenario } from './revocationScenario.js';

/**
 * Credential revocation on real Kafka and Redis: identity's outbox relay publishes to Kafka, and each router
 * instance consumes with a Kafka client and consumer group of its own (ADR 0013).
 */
const brokers = kafkaBrokersFromEnv();
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    { API_KEY_CACHE_TTL_SECONDS: LONG_API_KEY_CACHE_SECONDS },
    {
      bus: new KafkaEventBus({ brokers, clientId: 'router-revocation-e2e' }),
      revocationBus: () => new KafkaEventBus({ brokers, clientId: 'router-revocation-e2e-router' }),
    },
  );
}, 180_000);
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
}, 120_000);

describe('credential revocation on Kafka', () => {
  revocationScenario(() => stack, 120_000);
});
