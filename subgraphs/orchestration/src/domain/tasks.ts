import { TaskCancelled, TaskCreated, type EventMetadata } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import type { CodingTask, ExecutionStrategy, Prisma, TaskPriority } from '../generated/prisma/client.js';
import { requireScope, requireTaskWriter } from './authorization.js';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps, UnitOfWork } from './orchestrationDeps.js';
import { parseBaseBranch } from './gitRefName.js';
import { parseRepositoryRef } from './repositoryRef.js';
import { selectStrategy, type StrategyChoice } from './strategy.js';
import { assertTransition, type TaskEvent, type TaskStatus } from './taskStateMachine.js';
import {
  LIMITS,
  parseBudgets,
  parseId,
  parseIntInRange,
  parseLine,
  parseText,
  type BudgetsInput,
} from './validation.js';
import { publishTaskChanged, publishWorkQueued } from './liveMessages.js';
import { chatLinkOf } from '../chat/chatLink.js';

/** The producing service of orchestration's events. */
export const EVENT_SOURCE = 'orchestration';

/** Who asked for a change, for event metadata; absent for the system's own changes (sweepers, workers). */
export interface RequestMeta {
  requestId?: string | undefined;
}

/** Event metadata for a caller's request. */
export function eventMetadata(actorId: string | undefined, meta: RequestMeta = {}): EventMetadata {
  return { ...(actorId ? { actorId } : {}), ...(meta.requestId ? { requestId: meta.requestId } : {}) };
}

/** What `createTask` accepts (GraphQL input, already typed). */
export interface CreateTaskInput {
  title: string;
  description?: string | null | undefined;
  repository?: string | null | undefined;
  command?: string | null | undefined;
  priority?: TaskPriority | null | undefined;
  strategy?: ExecutionStrategy | null | undefined;
  timeoutSeconds?: number | null | undefined;
  /** Agent: the command whose exit code 0 means done. */
  verifyCommand?: string | null | undefined;
  /** Agent: the command that installs the dependencies. */
  setupCommand?: string | null | undefined;
  /** Agent: network for its own commands. */
  allowNetwork?: boolean | null | undefined;
  /** Agent: budget overrides. */
  budgets?: BudgetsInput | null | undefined;
  /** The branch to start from and target (needs `repository`); null = the repository's default branch. */
  baseBranch?: string | null | undefined;
}

/** The chat message a task was created from (set by `src/chat/`, never by a client). */
export interface ChatOrigin {
  conversationId: string;
  agentId: string;
  messageId: string;
}

/** A planned state change of one task, applied with optimistic locking by {@link transitionTask}. */
export interface TransitionPlan {
  to: TaskStatus;
  /** What causes the change; the state machine checks the (from, to, event) triple. */
  on: TaskEvent;
  /** Other columns changed with the status. */
  data?: Prisma.CodingTaskUpdateManyMutationInput;
  /** Writes beside the status change in the same transaction: executions, inputs, events. */
  apply?: (uow: UnitOfWork, before: CodingTask, after: CodingTask) => Promise<void>;
}

/** How often a conflicting optimistic update is retried before CONFLICT (default 3 tries). */
const TRANSITION_ATTEMPTS = 3;

const CONFLICTED = Symbol('conflicted');

/**
 * Applies a planned transition to a task read in this transaction: `UPDATE ... WHERE id AND version` (the
 * optimistic lock), then the plan's other writes. Returns null when another transaction changed the task since
 * it was read; the caller retries with a fresh read. After the commit every subscriber learns the new state.
 */
export async function applyTransition(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  task: CodingTask,
  plan: TransitionPlan,
): Promise<CodingTask | null> {
  assertTransition(task.status, plan.to, plan.on);
  const [updated] = await uow.tx.codingTask.updateManyAndReturn({
    where: { id: task.id, version: task.version },
    data: { ...plan.data, status: plan.to, version: { increment: 1 } },
  });
  if (!updated) return null;
  await plan.apply?.(uow, task, updated);
  uow.afterCommit(() => publishTaskChanged(deps, updated, task.status));
  return updated;
}

/**
 * Reads a task, lets `plan` decide its next state (and check permissions), and applies it with optimistic
 * locking. A concurrent change makes the update miss; the task is read again and `plan` re-decided on the new
 * state, up to three times, then CONFLICT. A transition the state machine forbids is INVALID_TASK_TRANSITION.
 * @throws {GraphQLError} NOT_FOUND, INVALID_TASK_TRANSITION, CONFLICT, or whatever `plan` throws
 */
export async function transitionTask(
  deps: OrchestrationDeps,
  taskId: string,
  plan: (task: CodingTask) => TransitionPlan | Promise<TransitionPlan>,
  options: { attempts?: number } = {},
): Promise<CodingTask> {
  const attempts = options.attempts ?? TRANSITION_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const outcome = await inTransaction(deps, async (uow) => {
      const task = await uow.tx.codingTask.findUnique({ where: { id: taskId } });
      if (!task) throw codedError(ErrorCode.NOT_FOUND, 'Task not found.', { id: taskId });
      return (await applyTransition(deps, uow, task, await plan(task))) ?? CONFLICTED;
    });
    if (outcome !== CONFLICTED) return outcome;
    deps.logger.debug({ taskId, attempt }, 'task changed concurrently; retrying the transition');
  }
  throw codedError(ErrorCode.CONFLICT, 'The task was changed concurrently; try again.', {
    field: 'id',
    id: taskId,
  });
}

/**
 * The plan that queues a task's next execution: the status becomes QUEUED with `choice`'s strategy and a new
 * execution row (attempt = attempts + 1) is inserted, the queue's unit of work. Workers on every instance are
 * woken after the commit.
 */
export function queuePlan(
  deps: OrchestrationDeps,
  on: 'CLASSIFY' | 'REQUEUE' | 'ANSWER' | 'RETRY',
  choice: StrategyChoice,
  data: Prisma.CodingTaskUpdateManyMutationInput = {},
): TransitionPlan {
  return {
    to: 'QUEUED',
    on,
    data: {
      ...data,
      strategy: choice.strategy,
      strategySource: choice.source,
      attempts: { increment: 1 },
      classificationDeadlineAt: null,
      finishedAt: null,
    },
    apply: async (uow, before, after) => {
      await uow.tx.taskExecution.create({
        data: {
          taskId: after.id,
          attempt: before.attempts + 1,
          strategy: choice.strategy,
          priority: after.priority,
        },
      });
      uow.afterCommit(() => publishWorkQueued(deps));
    },
  };
}

/**
 * A DEVELOPER (or ADMIN) creates a task. It waits for its classification (CLASSIFYING) unless the creator chose
 * the strategy or classification is disabled, in which case it is queued at once. Everything is validated before
 * anything is written; the task, its log counter, its first execution (when queued) and TaskCreated commit
 * together.
 * @throws {GraphQLError} UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT
 */
export async function createTask(
  deps: OrchestrationDeps,
  principal: Principal,
  input: CreateTaskInput,
  meta: RequestMeta = {},
  options: { uow?: UnitOfWork; chat?: ChatOrigin; fixId?: string } = {},
): Promise<CodingTask> {
  const caller = requireScope(principal, 'tasks:write');
  const title = parseLine(input.title, 'title', LIMITS.title);
  const description = parseText(input.description ?? '', 'description', LIMITS.description, {
    allowEmpty: true,
  });
  const repository =
    input.repository === null || input.repository === undefined
      ? null
      : parseRepositoryRef(input.repository, { allowLocal: deps.settings.shellExecutorEnabled }).canonical;
  let command: string | null = null;
  if (input.command !== null && input.command !== undefined) {
    if (!deps.settings.shellExecutorEnabled) {
      throw codedError(ErrorCode.BAD_USER_INPUT, 'Shell commands are disabled on this deployment.', {
        field: 'command',
        expected: 'no command (SHELL_EXECUTOR_ENABLED is false)',
        received: 'a command',
      });
    }
    command = parseText(input.command, 'command', LIMITS.command);
  }
  const timeoutSeconds =
    input.timeoutSeconds === null || input.timeoutSeconds === undefined
      ? null
      : parseIntInRange(input.timeoutSeconds, 'timeoutSeconds', 1, LIMITS.timeoutSeconds);
  const agentCommand = (value: string | null | undefined, field: string): string | null =>
    value === null || value === undefined ? null : parseText(value, field, LIMITS.agentCommand);
  const verifyCommand = agentCommand(input.verifyCommand, 'verifyCommand');
  const setupCommand = agentCommand(input.setupCommand, 'setupCommand');
  const budgets = input.budgets ? parseBudgets(input.budgets) : null;
  const baseBranch = parseBaseBranch(input.baseBranch, repository);
  const allowNetwork = input.allowNetwork ?? false;
  const priority = input.priority ?? 'NORMAL';
  const override = input.strategy ?? null;

  const waitForClassifier = override === null && deps.settings.classificationTimeoutMs > 0;
  const status: TaskStatus = waitForClassifier ? 'CLASSIFYING' : 'QUEUED';
  // Created PENDING and handed on in the same transaction: clients see CLASSIFYING or QUEUED.
  assertTransition('PENDING', status, 'SUBMIT');
  const choice = waitForClassifier
    ? null
    : selectStrategy({ override, complexity: null, defaultStrategy: deps.settings.defaultStrategy });

  const chat = options.chat;
  const work = async (uow: UnitOfWork): Promise<CodingTask> => {
    const task = await uow.tx.codingTask.create({
      data: {
        ...(chat
          ? { conversationId: chat.conversationId, chatAgentId: chat.agentId, chatMessageId: chat.messageId }
          : {}),
        ...(options.fixId ? { fixId: options.fixId } : {}),
        title,
        description,
        repository,
        baseBranch,
        command,
        timeoutSeconds,
        verifyCommand,
        setupCommand,
        allowNetwork,
        ...(budgets ? { budgets } : {}),
        creatorId: caller.userId,
        priority,
        strategyOverride: override,
        status,
        ...(choice
          ? { strategy: choice.strategy, strategySource: choice.source, attempts: 1 }
          : { classificationDeadlineAt: new Date(Date.now() + deps.settings.classificationTimeoutMs) }),
        logCounter: { create: {} },
        ...(choice ? { executions: { create: { attempt: 1, strategy: choice.strategy, priority } } } : {}),
      },
    });
    await deps.events.record(uow.tx, [
      TaskCreated.create(
        {
          taskId: task.id,
          title: task.title,
          description: task.description,
          repository: task.repository,
          creatorId: task.creatorId,
          priority: task.priority,
          strategyOverride: task.strategyOverride,
          status: task.status,
          ...(chat ? { conversationId: chat.conversationId, agentId: chat.agentId } : {}),
        },
        { source: EVENT_SOURCE, aggregateId: task.id, metadata: eventMetadata(caller.userId, meta) },
      ),
    ]);
    uow.afterCommit(() => publishTaskChanged(deps, task, null));
    if (choice) uow.afterCommit(() => publishWorkQueued(deps));
    return task;
  };
  return options.uow ? work(options.uow) : inTransaction(deps, work);
}

/**
 * Cancels a task (its creator or an ADMIN). A queued execution is withdrawn; a running one is flagged and its
 * worker, told through the live bus (and at its next heartbeat at the latest), kills the process.
 * @throws {GraphQLError} NOT_FOUND, FORBIDDEN, INVALID_TASK_TRANSITION (e.g. already SUCCEEDED or CANCELLED), CONFLICT
 */
export async function cancelTask(
  deps: OrchestrationDeps,
  principal: Principal,
  input: { id: string; reason?: string | null | undefined },
  meta: RequestMeta = {},
): Promise<CodingTask> {
  const taskId = parseId(input.id);
  const reason = input.reason ? parseLine(input.reason, 'reason', LIMITS.reason) : null;
  return transitionTask(deps, taskId, (task) => {
    const caller = requireTaskWriter(principal, task);
    return cancelPlan(deps, { taskId, cancelledBy: caller.userId, reason, meta });
  });
}

/**
 * The plan that cancels a task: a queued execution is withdrawn, a running one flagged (its worker kills the
 * process), TaskCancelled recorded. Shared by cancelTask and the cancellation of a superseded CI fix's task.
 */
export function cancelPlan(
  deps: OrchestrationDeps,
  options: { taskId: string; cancelledBy: string; reason: string | null; meta?: RequestMeta },
): TransitionPlan {
  const { taskId, cancelledBy, reason } = options;
  return {
    to: 'CANCELLED',
    on: 'CANCEL',
    data: { finishedAt: new Date(), classificationDeadlineAt: null },
    apply: async (uow, before) => {
      const now = new Date();
      await uow.tx.taskExecution.updateMany({
        where: { taskId, status: 'QUEUED' },
        data: { status: 'CANCELLED', endedAt: now },
      });
      await uow.tx.taskExecution.updateMany({
        where: { taskId, status: 'RUNNING' },
        data: { cancelRequestedAt: now },
      });
      await deps.events.record(uow.tx, [
        TaskCancelled.create(
          { taskId, previousStatus: before.status, cancelledBy, reason, ...chatLinkOf(before) },
          {
            source: EVENT_SOURCE,
            aggregateId: taskId,
            metadata: eventMetadata(cancelledBy, options.meta ?? {}),
          },
        ),
      ]);
    },
  };
}

/**
 * Retries a FAILED task (its creator or an ADMIN): a new execution is queued with the task's strategy.
 * @throws {GraphQLError} NOT_FOUND, FORBIDDEN, INVALID_TASK_TRANSITION (anything but FAILED), CONFLICT
 */
export async function retryTask(
  deps: OrchestrationDeps,
  principal: Principal,
  input: { id: string },
): Promise<CodingTask> {
  const taskId = parseId(input.id);
  return transitionTask(deps, taskId, (task) => {
    requireTaskWriter(principal, task);
    return queuePlan(deps, 'RETRY', currentChoice(deps, task), { lostCount: 0 });
  });
}

/**
 * Answers the question of an AWAITING_INPUT task (its creator or an ADMIN): the answer is stored and a new
 * execution is queued; the executor receives every answer so far.
 * @throws {GraphQLError} NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, INVALID_TASK_TRANSITION (not AWAITING_INPUT), CONFLICT
 */
export async function provideTaskInput(
  deps: OrchestrationDeps,
  principal: Principal,
  input: { taskId: string; answer: string },
): Promise<CodingTask> {
  const taskId = parseId(input.taskId, 'taskId');
  const answer = parseText(input.answer, 'answer', LIMITS.answer);
  return transitionTask(deps, taskId, (task) => answerPlan(deps, principal, task, answer));
}

/**
 * The plan that answers an AWAITING_INPUT task's open question with `answer` (already validated) and queues its
 * next execution; shared by `provideTaskInput` and a chat reply to the agent's question.
 * @throws {GraphQLError} FORBIDDEN (not the creator nor an ADMIN, or no tasks:write), UNAUTHENTICATED
 */
export function answerPlan(
  deps: OrchestrationDeps,
  principal: Principal,
  task: CodingTask,
  answer: string,
): TransitionPlan {
  const caller = requireTaskWriter(principal, task);
  const queue = queuePlan(deps, 'ANSWER', currentChoice(deps, task), { lostCount: 0 });
  return {
    ...queue,
    apply: async (uow, before, after) => {
      await uow.tx.taskInput.updateMany({
        where: { taskId: task.id, answer: null },
        data: { answer, answeredAt: new Date(), answeredBy: caller.userId },
      });
      await queue.apply?.(uow, before, after);
    },
  };
}

/** The strategy a task runs with again (retry, resume): the one it has, else a fresh choice. */
function currentChoice(deps: OrchestrationDeps, task: CodingTask): StrategyChoice {
  if (task.strategy && task.strategySource) return { strategy: task.strategy, source: task.strategySource };
  return selectStrategy({
    override: task.strategyOverride,
    complexity: task.complexity,
    defaultStrategy: deps.settings.defaultStrategy,
  });
}
