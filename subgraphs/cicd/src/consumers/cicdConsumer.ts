import {
  BranchPushed,
  ChecksCompleted,
  FixTaskCreated,
  CicdTopic,
  GithubTopic,
  OrchestrationTopic,
  PullRequestMerged,
  PullRequestOpened,
  PullRequestUpdated,
  TaskCancelled,
  TaskCompleted,
  TaskFailed,
  WorkflowRunCompleted,
  WorkflowRunUpdated,
} from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { unitOfWorkOf, unitOfWorkSql } from '@cap/runtime/kit';
import { SCHEMA } from '../db.js';
import { noteBranchHead, recordRunIn } from '../domain/builds.js';
import type { CicdDeps, Tx } from '../domain/deps.js';
import {
  acceptFixOfTask,
  addFixCost,
  concludeFixesOfTasks,
  failFixOfTask,
  noteFixPullRequest,
  noteFixTask,
  noteFixTaskFinished,
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
 * The event types the consumer handles. Its topics carry others that other groups consume (`cicd.fix` carries
 * FixRequested and FixSuperseded for orchestration): those are left unvalidated, so a malformed one is
 * dead-lettered once, by its own consumer, not also by this one. cicd owns `cicd.fix`, so records on its topics
 * that no contract can read (not JSON, unknown types) are dead-lettered here.
 */
export const CICD_EVENT_TYPES = [
  WorkflowRunCompleted.type,
  WorkflowRunUpdated.type,
  FixTaskCreated.type,
  ChecksCompleted.type,
  PullRequestOpened.type,
  PullRequestUpdated.type,
  PullRequestMerged.type,
  BranchPushed.type,
  TaskCompleted.type,
  TaskFailed.type,
  TaskCancelled.type,
];

/**
 * Consumes the github subgraph's workflow runs, checks, pull requests and pushes, and orchestration's task
 * outcomes (completed, failed, cancelled), and orchestration's FixTaskCreated. Idempotent twice over: the processed-mark skips a redelivered event, and every effect is keyed (a run
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
    // Handlers run in the consumer's own transaction (the kit's unit of work), so an event's effects commit with
    // its processed-mark, and a single-session database (embedded PGlite) never waits on a second transaction.
    sql: unitOfWorkSql<Tx>(deps),
    schema: SCHEMA,
    groupId: CICD_CONSUMER_GROUP,
    topics: CICD_TOPICS,
    handles: CICD_EVENT_TYPES,
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      const uow = unitOfWorkOf<Tx>(ctx.sql);
      const { tx } = uow;
      if (WorkflowRunCompleted.is(envelope) || WorkflowRunUpdated.is(envelope)) {
        const recorded = await recordRunIn(deps, uow, factsOfEvent(envelope.payload), 'WEBHOOK');
        if (recorded.newlyFailed) uow.afterCommit(onFailedRun);
        return;
      }
      if (FixTaskCreated.is(envelope)) {
        const { fixId, taskId } = envelope.payload;
        await noteFixTask(deps, tx, fixId, taskId);
        return;
      }
      if (ChecksCompleted.is(envelope)) {
        const { taskIds, conclusion } = envelope.payload;
        if (taskIds.length === 0 || !conclusion) return;
        await concludeFixesOfTasks(deps, tx, taskIds, conclusion, new Date(envelope.occurredAt));
        return;
      }
      // Opened for a task, or an existing pull request linked to a task later (`task_linked`: someone opened one
      // from the task's branch before the task path did, ADR 0036).
      if (
        PullRequestOpened.is(envelope) ||
        (PullRequestUpdated.is(envelope) && envelope.payload.action === 'task_linked')
      ) {
        const { taskId, number, headSha, headBranch } = envelope.payload;
        if (taskId) await noteFixPullRequest(tx, taskId, { number, headSha, headBranch });
        return;
      }
      if (PullRequestMerged.is(envelope)) {
        const { taskId } = envelope.payload;
        if (taskId) await acceptFixOfTask(deps, tx, taskId, new Date(envelope.occurredAt));
        return;
      }
      if (BranchPushed.is(envelope)) {
        const { owner, name, branch, after, deleted } = envelope.payload;
        if (deleted) return;
        await noteBranchHead(
          deps,
          tx,
          repositoryKey(owner, name),
          branch,
          after,
          new Date(envelope.occurredAt),
        );
        return;
      }
      if (TaskCompleted.is(envelope)) {
        const { taskId, costUsd } = envelope.payload;
        await noteFixTaskFinished(tx, taskId, new Date(envelope.occurredAt));
        if (costUsd) await addFixCost(tx, taskId, costUsd);
        return;
      }
      if (TaskFailed.is(envelope)) {
        const { taskId, error } = envelope.payload;
        await noteFixTaskFinished(tx, taskId, new Date(envelope.occurredAt));
        await failFixOfTask(deps, tx, taskId, `the fix task failed: ${error.message}`);
        return;
      }
      if (TaskCancelled.is(envelope))
        await noteFixTaskFinished(tx, envelope.payload.taskId, new Date(envelope.occurredAt));
    },
  });
}

/**
 * Creates the topics and starts the consumer without making the start wait for Kafka (`keepConsumer`: retried
 * with exponential backoff, 1 s ... 30 s): the graph and the poller keep working meanwhile.
 */
export function keepCicdConsumer(deps: CicdDeps, bus: EventBus, onFailedRun: () => void): ResilientConsumer {
  return keepConsumer({
    name: 'cicd consumer',
    logger: deps.logger,
    ensureTopics: { bus, topics: CICD_TOPICS },
    start: () => startCicdConsumer(deps, bus, onFailedRun),
  });
}
