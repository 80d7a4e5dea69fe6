import {
  createContractRegistry,
  eventContracts,
  orchestrationContracts,
  OrchestrationTopic,
  TaskClassified,
} from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { applyClassification } from '../domain/classification.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { SCHEMA } from '../db.js';
import { unitOfWorkOf, unitOfWorkSql } from './unitOfWorkSql.js';

/** Consumer group of the classification consumer (also its deduplication scope). */
export const CLASSIFICATION_CONSUMER_GROUP = 'orchestration.classification';

/** The platform's contracts plus orchestration's (until the global registry lists them itself). */
const contracts = createContractRegistry([
  ...Object.values(eventContracts),
  ...orchestrationContracts.filter((contract) => !Object.hasOwn(eventContracts, contract.key)),
]);

/**
 * Consumes TaskClassified (idempotent: once per event id; invalid events and classifications of unknown tasks
 * go to `ml-classifier.classification.dlq`). Other event types on the topic are not orchestration's concern.
 */
export function startClassificationConsumer(
  deps: OrchestrationDeps,
  bus: EventBus,
): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: unitOfWorkSql(deps),
    schema: SCHEMA,
    groupId: CLASSIFICATION_CONSUMER_GROUP,
    topics: [TaskClassified.topic],
    contracts,
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (!TaskClassified.is(envelope)) return;
      const outcome = await applyClassification(deps, unitOfWorkOf(ctx.sql), envelope);
      ctx.logger.info(
        { taskId: envelope.payload.taskId, complexity: envelope.payload.complexity, outcome },
        'classification applied',
      );
    },
  });
}

/** A consumer that keeps trying to start while the broker is unreachable (`@cap/messaging`'s). */
export type { ResilientConsumer };

/**
 * Starts the classification consumer (and creates orchestration's topics) without making the instance's start
 * wait for Kafka: while the broker is down the graph, the workers and the outbox keep working (events wait in
 * the outbox) and the consumer is retried with exponential backoff (1 s, 2 s, ... 30 s).
 */
export function keepClassificationConsumer(deps: OrchestrationDeps, bus: EventBus): ResilientConsumer {
  return keepConsumer({
    name: 'classification consumer',
    logger: deps.logger,
    ensureTopics: { bus, topics: Object.values(OrchestrationTopic) },
    start: () => startClassificationConsumer(deps, bus),
  });
}
