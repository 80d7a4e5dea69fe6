import { OrchestrationTopic, TaskCompleted, TaskCreated, TaskFailed } from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
  type SqlExecutor,
} from '@cap/messaging';
import { SCHEMA } from '../db.js';
import { classifyCreatedTask } from '../domain/classifications.js';
import type { MlClassifierDeps } from '../domain/deps.js';
import { recordOutcome } from '../domain/outcomes.js';

/** Consumer group of the classifier on orchestration's task topic (also its deduplication scope). */
export const TASKS_CONSUMER_GROUP = 'ml-classifier.tasks';

/** Where the consumer joins and as which group; tests and benchmarks use their own group. */
export interface TasksConsumerOptions {
  /** Default {@link TASKS_CONSUMER_GROUP}. */
  groupId?: string;
  /** Default true: a new group reads the topic's retained history (tasks created while it was down). */
  fromBeginning?: boolean;
}

/**
 * A SqlExecutor whose transactions wake the outbox relay once they committed, so `TaskClassified` leaves at
 * once instead of at the relay's next poll.
 */
function notifyingSql(sql: SqlExecutor, committed: () => void): SqlExecutor {
  return {
    query: (text, params) => sql.query(text, params),
    transaction: async (fn) => {
      const result = await sql.transaction(fn);
      committed();
      return result;
    },
  };
}

/**
 * Consumes orchestration's task events (idempotent: once per event id): `TaskCreated` is classified and
 * answered with `TaskClassified` through the outbox; `TaskCompleted` and `TaskFailed` become training examples.
 * Invalid events go to `orchestration.task.dlq` with the reason; other event types are not the classifier's.
 */
export function startTasksConsumer(
  deps: MlClassifierDeps,
  bus: EventBus,
  sql: SqlExecutor,
  options: TasksConsumerOptions = {},
): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: notifyingSql(sql, () => deps.events.committed()),
    schema: SCHEMA,
    groupId: options.groupId ?? TASKS_CONSUMER_GROUP,
    topics: [OrchestrationTopic.task],
    fromBeginning: options.fromBeginning ?? true,
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (TaskCreated.is(envelope)) {
        const result = await classifyCreatedTask(deps, ctx.sql, envelope);
        ctx.logger.debug(
          { taskId: envelope.payload.taskId, type: result.type.label, complexity: result.complexity.label },
          'task classified',
        );
      } else if (TaskCompleted.is(envelope) || TaskFailed.is(envelope)) {
        const recorded = await recordOutcome(ctx.sql, envelope);
        ctx.logger.debug({ taskId: envelope.payload.taskId, type: envelope.type, recorded }, 'task outcome');
      }
    },
  });
}

/**
 * Starts the consumer (creating the classifier's topics first) without making the instance's start wait for
 * Kafka: while the broker is down the graph keeps answering previews and the start is retried.
 */
export function keepTasksConsumer(
  deps: MlClassifierDeps,
  bus: EventBus,
  sql: SqlExecutor,
  topics: string[],
  options: TasksConsumerOptions = {},
): ResilientConsumer {
  return keepConsumer({
    name: 'task consumer',
    logger: deps.logger,
    ensureTopics: { bus, topics },
    start: () => startTasksConsumer(deps, bus, sql, options),
  });
}
