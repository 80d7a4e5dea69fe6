import { GithubTopic, OrchestrationTopic, TaskCompleted } from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { unitOfWorkOf, unitOfWorkSql } from '@cap/runtime/kit';
import { SCHEMA } from '../db.js';
import type { GithubDeps, Tx } from '../domain/deps.js';
import { pullRequestSkipReason, recordPullRequestJob } from '../domain/pullRequestJobs.js';

/** Consumer group of the pull-request consumer (also its deduplication scope). */
export const PULL_REQUEST_CONSUMER_GROUP = 'github.pull-requests';

/**
 * Consumes orchestration's TaskCompleted and records the intent to open (or update) the task's pull request: a
 * `pull_request_jobs` row written in the consumer's own transaction (the kit's unit of work), committed with the
 * processed-mark. No GitHub call happens here: the pull-request worker does the work after the commit (`onRecorded`
 * wakes it), so a slow GitHub never holds the consumer's transaction open. Tasks on local repositories or without
 * a pushed branch are skipped (logged).
 */
export function startTaskCompletedConsumer(
  deps: GithubDeps,
  bus: EventBus,
  onRecorded: () => void,
): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: unitOfWorkSql<Tx>(deps),
    schema: SCHEMA,
    groupId: PULL_REQUEST_CONSUMER_GROUP,
    topics: [TaskCompleted.topic],
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (!TaskCompleted.is(envelope)) return;
      const task = envelope.payload;
      const skip = pullRequestSkipReason(task);
      if (skip) {
        ctx.logger.info({ taskId: task.taskId, reason: skip }, 'task pull request skipped');
        return;
      }
      const uow = unitOfWorkOf<Tx>(ctx.sql);
      if (await recordPullRequestJob(uow.tx, task)) uow.afterCommit(onRecorded);
    },
  });
}

/**
 * Creates the subgraph's topics and starts the consumer without making the start wait for Kafka (`keepConsumer`):
 * while the broker is down, the graph and the webhooks keep working (events wait in the outbox), and the start is
 * retried with exponential backoff (1 s, 2 s, ... 30 s).
 */
export function keepTaskCompletedConsumer(
  deps: GithubDeps,
  bus: EventBus,
  onRecorded: () => void,
): ResilientConsumer {
  return keepConsumer({
    name: 'github consumer',
    logger: deps.logger,
    ensureTopics: { bus, topics: [...Object.values(GithubTopic), OrchestrationTopic.task] },
    start: () => startTaskCompletedConsumer(deps, bus, onRecorded),
  });
}
