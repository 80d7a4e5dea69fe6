import {
  BranchPushed,
  ChecksCompleted,
  FixTaskCreated,
  CicdTopic,
  GithubTopic,
  OrchestrationTopic,
  PullRequestMerged,
  PullRequestOpened,
  TaskCompleted,
  TaskFailed,
  WorkflowRunCompleted,
  WorkflowRunUpdated,
} from '@cap/events';
import { prismaExecutor } from '@cap/db';
import { runConsumer, type EventBus, type RunningConsumer } from '@cap/messaging';
import { inTransaction } from '@cap/runtime/kit';
import { SCHEMA } from '../db.js';
import { noteBranchHead, recordRun } from '../domain/builds.js';
import type { CicdDeps } from '../domain/deps.js';
import {
  acceptFixOfTask,
  addFixCost,
  concludeFixesOfTasks,
  failFixOfTask,
  noteFixPullRequest,
  noteFixTask,
} from '../domain/fixOutcomes.js';
import { factsOfEvent, repositoryKey } from '../domain/runFacts.js';

/** Consumer group of the cicd consumer (also its deduplication scope). */
export const CICD_CONSUMER_GROUP = 'cicd.builds';

/** The topics the consumer reads. */
export const CICD_TOPICS = [
  GithubTopic.workflowRun,
  GithubTopic.checks,
  GithubTopic.pullRequest,
  GithubTopic.push,
  OrchestrationTopic.task,
  CicdTopic.fix,
];

/**
 * Consumes the github subgraph's workflow runs, checks, pull requests and pushes, and orchestration's task
 * outcomes, and orchestration's FixTaskCreated. Idempotent twice over: the processed-mark skips a redelivered event, and every effect is keyed (a run
 * once per repository + run id + attempt; fix outcomes move only from REQUESTED). Invalid events go to the
 * topic's dead-letter queue (runConsumer). `onFailedRun` is told when a run was seen failing for the first time.
 */
export function startCicdConsumer(
  deps: CicdDeps,
  bus: EventBus,
  onFailedRun: () => void,
): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: prismaExecutor(deps.prisma),
    schema: SCHEMA,
    groupId: CICD_CONSUMER_GROUP,
    topics: CICD_TOPICS,
    logger: deps.logger,
    handle: async (envelope) => {
      if (WorkflowRunCompleted.is(envelope) || WorkflowRunUpdated.is(envelope)) {
        const recorded = await recordRun(deps, factsOfEvent(envelope.payload), 'WEBHOOK');
        if (recorded.newlyFailed) onFailedRun();
        return;
      }
      if (FixTaskCreated.is(envelope)) {
        const { fixId, taskId } = envelope.payload;
        await inTransaction(deps, ({ tx }) => noteFixTask(tx, fixId, taskId));
        return;
      }
      if (ChecksCompleted.is(envelope)) {
        const { taskIds, conclusion } = envelope.payload;
        if (taskIds.length === 0 || !conclusion) return;
        await inTransaction(deps, ({ tx }) =>
          concludeFixesOfTasks(deps, tx, taskIds, conclusion, new Date(envelope.occurredAt)),
        );
        return;
      }
      if (PullRequestOpened.is(envelope)) {
        const { taskId, number } = envelope.payload;
        if (taskId) await inTransaction(deps, ({ tx }) => noteFixPullRequest(tx, taskId, number));
        return;
      }
      if (PullRequestMerged.is(envelope)) {
        const { taskId } = envelope.payload;
        if (taskId)
          await inTransaction(deps, ({ tx }) =>
            acceptFixOfTask(deps, tx, taskId, new Date(envelope.occurredAt)),
          );
        return;
      }
      if (BranchPushed.is(envelope)) {
        const { owner, name, branch, after, deleted } = envelope.payload;
        if (deleted) return;
        await inTransaction(deps, ({ tx }) =>
          noteBranchHead(deps, tx, repositoryKey(owner, name), branch, after, new Date(envelope.occurredAt)),
        );
        return;
      }
      if (TaskCompleted.is(envelope)) {
        const { taskId, costUsd } = envelope.payload;
        if (costUsd) await inTransaction(deps, ({ tx }) => addFixCost(tx, taskId, costUsd));
        return;
      }
      if (TaskFailed.is(envelope)) {
        const { taskId, error } = envelope.payload;
        await inTransaction(deps, ({ tx }) =>
          failFixOfTask(deps, tx, taskId, `the fix task failed: ${error.message}`),
        );
      }
    },
  });
}

/** Longest wait between two attempts to start the consumer, ms. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Creates the topics and starts the consumer without making the start wait for Kafka (retried with exponential
 * backoff, 1 s ... 30 s, as the siblings' consumers are): the graph and the poller keep working meanwhile.
 */
export function keepCicdConsumer(
  deps: CicdDeps,
  bus: EventBus,
  onFailedRun: () => void,
): { ready: Promise<void>; close(): Promise<void> } {
  let consumer: RunningConsumer | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        await bus.ensureTopics(CICD_TOPICS);
        const started = await startCicdConsumer(deps, bus, onFailedRun);
        if (closed) await started.close();
        else consumer = started;
        return;
      } catch (error) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (attempt - 1));
        deps.logger.warn({ err: error, attempt, delayMs }, 'cicd consumer could not start; retrying');
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
      (wake as (() => void) | null)?.();
      await ready;
      await consumer?.close();
    },
  };
}
