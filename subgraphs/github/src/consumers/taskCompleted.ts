import { GithubTopic, OrchestrationTopic, TaskCompleted } from '@cap/events';
import { prismaExecutor } from '@cap/db';
import { runConsumer, type EventBus, type RunningConsumer } from '@cap/messaging';
import { SCHEMA } from '../db.js';
import type { GithubDeps } from '../domain/deps.js';
import { openPullRequestForTask } from '../domain/pullRequests.js';

/** Consumer group of the pull-request consumer (also its deduplication scope). */
export const PULL_REQUEST_CONSUMER_GROUP = 'github.pull-requests';

/** Longest wait between two attempts to start the consumer, ms. */
const MAX_RETRY_DELAY_MS = 30_000;

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
 * Creates the subgraph's topics and starts the consumer without making the start wait for Kafka: while the broker
 * is down, the graph and the webhooks keep working (events wait in the outbox), and the start is retried with
 * exponential backoff (1 s, 2 s, ... 30 s).
 */
export function keepTaskCompletedConsumer(
  deps: GithubDeps,
  bus: EventBus,
): { ready: Promise<void>; close(): Promise<void> } {
  let consumer: RunningConsumer | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        await bus.ensureTopics([...Object.values(GithubTopic), OrchestrationTopic.task]);
        const started = await startTaskCompletedConsumer(deps, bus);
        if (closed) await started.close();
        else consumer = started;
        return;
      } catch (error) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (attempt - 1));
        deps.logger.warn({ err: error, attempt, delayMs }, 'github consumer could not start; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  })();
  return {
    ready,
    close: async () => {
      closed = true;
      wake?.();
      await ready;
      await consumer?.close();
    },
  };
}
