import { GithubTopic, OrchestrationTopic, TaskCompleted } from '@cap/events';
import { prismaExecutor } from '@cap/db';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { SCHEMA } from '../db.js';
import type { GithubDeps } from '../domain/deps.js';
import { openPullRequestForTask } from '../domain/pullRequests.js';

/** Consumer group of the pull-request consumer (also its deduplication scope). */
export const PULL_REQUEST_CONSUMER_GROUP = 'github.pull-requests';

/**
 * Consumes orchestration's TaskCompleted and opens (or updates) the task's pull request. Idempotent twice over:
 * the processed-mark skips a redelivered event, and {@link openPullRequestForTask} finds the task's pull request
 * by task and by head branch, so a re-run of the task updates it. Tasks on local repositories, without a pushed
 * branch or on repositories not connected are skipped (logged).
 */
export function startTaskCompletedConsumer(deps: GithubDeps, bus: EventBus): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: prismaExecutor(deps.prisma),
    schema: SCHEMA,
    groupId: PULL_REQUEST_CONSUMER_GROUP,
    topics: [TaskCompleted.topic],
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (!TaskCompleted.is(envelope)) return;
      const outcome = await openPullRequestForTask(deps, envelope.payload);
      ctx.logger.info(
        {
          taskId: envelope.payload.taskId,
          outcome: outcome.kind,
          ...(outcome.kind === 'skipped'
            ? { reason: outcome.reason }
            : { number: outcome.pullRequest.number }),
        },
        'task pull request',
      );
    },
  });
}

/**
 * Creates the subgraph's topics and starts the consumer without making the start wait for Kafka (`keepConsumer`):
 * while the broker is down, the graph and the webhooks keep working (events wait in the outbox), and the start is
 * retried with exponential backoff (1 s, 2 s, ... 30 s).
 */
export function keepTaskCompletedConsumer(deps: GithubDeps, bus: EventBus): ResilientConsumer {
  return keepConsumer({
    name: 'github consumer',
    logger: deps.logger,
    start: async () => {
      await bus.ensureTopics([...Object.values(GithubTopic), OrchestrationTopic.task]);
      return startTaskCompletedConsumer(deps, bus);
    },
  });
}
