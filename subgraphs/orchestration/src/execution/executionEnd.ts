import { TaskCompleted, TaskFailed, TaskInputRequested } from '@cap/events';
import { inRunTransaction } from '../domain/runTransaction.js';
import type { OrchestrationDeps, UnitOfWork } from '../domain/orchestrationDeps.js';
import { applyTransition, EVENT_SOURCE, type TransitionPlan } from '../domain/tasks.js';
import type { CodingTask, ExecutionStatus, Prisma, TaskExecution } from '../generated/prisma/client.js';
import type { ExecutionOutcome, ExecutionSuccess } from './executor.js';
import { taskOutcome } from '../domain/taskOutcome.js';
import { chatLinkOf, completionFacts } from '../chat/chatLink.js';
import { storableText } from '../domain/storableText.js';
import { verificationOf } from '../domain/verification.js';

/** Usage an executor reported for an execution. */
export interface ExecutionUsage {
  model: string | null;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

/** How the worker ends an execution. */
export type ExecutionEnd = ExecutionOutcome | { kind: 'cancelled' };

/**
 * Records how an execution ended and moves its task on: SUCCEEDED (TaskCompleted), FAILED (TaskFailed) or
 * AWAITING_INPUT (TaskInputRequested). Fenced: nothing is written unless `workerId` still holds the execution
 * (a worker whose lease expired and was recovered elsewhere cannot overwrite the new attempt's state). When the
 * task was cancelled meanwhile, the execution is recorded CANCELLED whatever the outcome.
 * @returns false when the execution was no longer this worker's
 */
export async function finishExecution(
  deps: OrchestrationDeps,
  options: {
    executionId: string;
    workerId: string;
    end: ExecutionEnd;
    usage: ExecutionUsage;
    executor: string | null;
    durationMs: number;
  },
): Promise<boolean> {
  const { executionId, workerId, usage } = options;
  const end = storableEnd(options.end);
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const outcome = await inRunTransaction(deps, async (uow): Promise<'done' | 'fenced' | 'conflict'> => {
      const execution = await uow.tx.taskExecution.findUnique({
        where: { id: executionId },
        include: { task: true },
      });
      if (!execution || execution.status !== 'RUNNING' || execution.workerId !== workerId) return 'fenced';
      const { task } = execution;
      const usageData = {
        executor: options.executor,
        model: usage.model,
        tokensIn: usage.tokensIn,
        tokensOut: usage.tokensOut,
        costUsd: usage.costUsd,
      };
      if (end.kind === 'cancelled' || task.status !== 'RUNNING') {
        // Cancelled (or moved on by someone else): the execution ends, the task's state stays as it is.
        const status: ExecutionStatus =
          task.status === 'CANCELLED' || end.kind === 'cancelled' ? 'CANCELLED' : 'FAILED';
        await endExecution(uow, execution, status, usageData, {
          summary: status === 'CANCELLED' ? 'Cancelled.' : `Stopped: the task was ${task.status} meanwhile.`,
        });
        return 'done';
      }
      const plan = finishPlan(
        deps,
        execution,
        end,
        usageData,
        options.durationMs,
        usage.tokensIn + usage.tokensOut,
      );
      return (await applyTransition(deps, uow, task, plan)) ? 'done' : 'conflict';
    });
    if (outcome === 'done') return true;
    if (outcome === 'fenced') {
      deps.logger.warn(
        { executionId, workerId },
        'execution is no longer held by this worker; its outcome is discarded',
      );
      return false;
    }
  }
  throw new Error(`could not record the end of execution ${executionId}: the task kept changing`);
}

function finishPlan(
  deps: OrchestrationDeps,
  execution: TaskExecution & { task: CodingTask },
  end: ExecutionOutcome,
  usage: Prisma.TaskExecutionUpdateInput,
  durationMs: number,
  tokens: number,
): TransitionPlan {
  const { task } = execution;
  const aggregate = { source: EVENT_SOURCE, aggregateId: task.id };
  switch (end.kind) {
    case 'succeeded': {
      const result = end.result;
      const work = workDone(result);
      return {
        to: 'SUCCEEDED',
        on: 'SUCCEED',
        data: { finishedAt: new Date() },
        apply: async (uow) => {
          await endExecution(uow, execution, 'SUCCEEDED', usage, {
            summary: result.summary,
            ...work,
            pullRequestUrl: result.pullRequestUrl ?? null,
            exitCode: result.exitCode ?? null,
          });
          await deps.events.record(uow.tx, [
            TaskCompleted.create(
              {
                taskId: task.id,
                executionId: execution.id,
                attempt: execution.attempt,
                summary: result.summary,
                changedFiles: result.changedFiles?.length ?? 0,
                pullRequestUrl: result.pullRequestUrl ?? null,
                durationMs: Math.max(0, Math.round(durationMs)),
                // What a pull request for the task is made of (the github subgraph opens it from these).
                repository: task.repository,
                title: task.title,
                baseBranch: task.baseBranch,
                model: typeof usage.model === 'string' ? usage.model : null,
                ...completionFacts(result, usage, (dropped) =>
                  deps.logger.warn(
                    { taskId: task.id, executionId: execution.id, dropped },
                    'review notes beyond the TaskCompleted limits (50 notes, a path and a positive line each) were left out',
                  ),
                ),
                ...chatLinkOf(task),
                outcome: taskOutcome(result, work, tokens),
              },
              aggregate,
            ),
          ]);
        },
      };
    }
    case 'failed': {
      const work = workDone(end.result ?? {});
      return {
        to: 'FAILED',
        on: 'FAIL',
        data: { finishedAt: new Date() },
        apply: async (uow) => {
          await endExecution(uow, execution, 'FAILED', usage, {
            summary: end.result?.summary ?? end.error.message,
            ...work,
            exitCode: end.result?.exitCode ?? null,
            errorCode: end.error.code,
            errorMessage: end.error.message,
            errorCause: end.error.cause ?? null,
          });
          await deps.events.record(uow.tx, [
            TaskFailed.create(
              {
                taskId: task.id,
                executionId: execution.id,
                attempt: execution.attempt,
                error: { code: end.error.code, message: end.error.message.slice(0, 2_000) },
                ...chatLinkOf(task),
                outcome: taskOutcome(end.result ?? {}, work, tokens),
              },
              aggregate,
            ),
          ]);
        },
      };
    }
    case 'awaiting_input':
      return {
        to: 'AWAITING_INPUT',
        on: 'ASK',
        apply: async (uow) => {
          await endExecution(uow, execution, 'AWAITING_INPUT', usage, {
            summary: 'Waiting for the creator’s answer.',
          });
          const input = await uow.tx.taskInput.create({
            data: { taskId: task.id, executionId: execution.id, question: end.question },
          });
          await deps.events.record(uow.tx, [
            TaskInputRequested.create(
              {
                taskId: task.id,
                executionId: execution.id,
                inputId: input.id,
                question: end.question,
                ...chatLinkOf(task),
              },
              aggregate,
            ),
          ]);
        },
      };
  }
}

/** Longest diff stored with a result, characters (executors cap theirs lower; this guards the table). */
const MAX_STORED_DIFF_CHARS = 1_000_000;

/** The result columns describing the change an execution made (and, for the agent, its branch and effort). */
function workDone(
  result: Partial<ExecutionSuccess>,
): Omit<Prisma.ExecutionResultUncheckedCreateInput, 'executionId' | 'taskId' | 'summary'> {
  // Normalised as TaskCompleted carries it: whatever an executor returned, the row holds `{ passed, command }`.
  const verification = verificationOf(result.verification);
  return {
    ...(verification ? { verification: { passed: verification.passed, command: verification.command } } : {}),
    changedFiles: result.changedFiles ?? [],
    filesChanged: result.diffStats?.filesChanged ?? result.changedFiles?.length ?? 0,
    additions: result.diffStats?.additions ?? 0,
    deletions: result.diffStats?.deletions ?? 0,
    branch: result.branch ?? null,
    commitSha: result.commitSha ?? null,
    diff: result.diff === undefined ? null : result.diff.slice(0, MAX_STORED_DIFF_CHARS),
    stopReason: result.stopReason ?? null,
    toolCalls: result.usage?.toolCalls ?? 0,
    modelCalls: result.usage?.modelCalls ?? 0,
  };
}

/** Ends an execution row and stores its result. */
export async function endExecution(
  uow: UnitOfWork,
  execution: TaskExecution,
  status: ExecutionStatus,
  data: Prisma.TaskExecutionUpdateInput,
  result: Omit<Prisma.ExecutionResultUncheckedCreateInput, 'executionId' | 'taskId'>,
): Promise<void> {
  await uow.tx.taskExecution.update({
    where: { id: execution.id },
    data: { ...data, status, endedAt: new Date(), leaseExpiresAt: null },
  });
  await uow.tx.executionResult.create({
    data: { ...result, executionId: execution.id, taskId: execution.taskId },
  });
}

/**
 * The executor's words as PostgreSQL can store them (the summary, the error, the question come from commands and
 * models): a NUL or a lone surrogate would fail the transaction that records the end, again on every retry.
 */
function storableEnd(end: ExecutionEnd): ExecutionEnd {
  switch (end.kind) {
    case 'succeeded':
      return { ...end, result: { ...end.result, summary: storableText(end.result.summary) } };
    case 'failed':
      return {
        ...end,
        error: {
          ...end.error,
          message: storableText(end.error.message),
          ...(end.error.cause === undefined ? {} : { cause: storableText(end.error.cause) }),
        },
        ...(end.result?.summary === undefined
          ? {}
          : { result: { ...end.result, summary: storableText(end.result.summary) } }),
      };
    case 'awaiting_input':
      return { ...end, question: storableText(end.question) };
    default:
      return end;
  }
}
