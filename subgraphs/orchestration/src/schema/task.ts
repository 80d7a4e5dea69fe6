import { hasScope, policyDirectives } from '@cap/runtime';
import { pageSize, resolvePageSize } from '@cap/runtime/kit';
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { Redactor } from '../domain/redaction.js';
import { nextStatuses } from '../domain/taskStateMachine.js';
import { DEFAULT_TASK_ORDER, encodeTaskCursor, findTaskPage, type TaskOrder } from '../domain/taskQueries.js';
import { parseId } from '../domain/validation.js';
import type { CodingTask } from '../generated/prisma/client.js';
import {
  ExecutionStrategyEnum,
  SortDirectionEnum,
  StrategySourceEnum,
  TaskComplexityEnum,
  TaskOrderFieldEnum,
  TaskPriorityEnum,
  TaskStatusEnum,
  TaskTypeEnum,
} from './enums.js';
import { shownVerification, TaskVerificationRef } from './execution.js';
import type { OrchestrationContext } from '../context.js';
import { CodingTaskRef, ExecutionResultRef, TaskExecutionRef, TaskInputRef } from './refs.js';
import { UserRef } from './user.js';

/** Page size limits of task lists. */
const PAGE = pageSize({ default: 20 });
/** Executions and questions assumed per task, for the cost of `executions` and `inputs` (3 attempts by default). */
const PER_TASK_ASSUMED = 5;

/** The result of the task's most recent finished execution (batched: one query per level of a list). */
async function latestResult(task: CodingTask, ctx: OrchestrationContext) {
  const executions = await ctx.loaders.executionsByTask.load(task.id);
  const finished = executions.filter((execution) => execution.endedAt !== null).at(-1);
  return finished ? ctx.loaders.resultByExecution.load(finished.id) : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const TaskBudgetsRef = builder
  .objectRef<{
    tokens: number | null;
    usd: number | null;
    toolCalls: number | null;
    wallTimeSeconds: number | null;
  }>('TaskBudgets')
  .implement({
    description: "A task's agent budget overrides; a null field takes the strategy's default.",
    fields: (t) => ({
      tokens: t.exposeInt('tokens', {
        nullable: true,
        description: 'Input plus output tokens over every model call.',
      }),
      usd: t.exposeFloat('usd', { nullable: true, description: 'Cost, US dollars.' }),
      toolCalls: t.exposeInt('toolCalls', { nullable: true, description: 'Tool calls the model may make.' }),
      wallTimeSeconds: t.exposeInt('wallTimeSeconds', {
        nullable: true,
        description: "Wall time of the agent's work, seconds.",
      }),
    }),
  });

const TaskUsageRef = builder
  .objectRef<{ tokensIn: number; tokensOut: number; costUsd: number; models: string[] }>('TaskUsage')
  .implement({
    description: 'LLM usage of a task, summed over its executions.',
    fields: (t) => ({
      tokensIn: t.exposeInt('tokensIn', { description: 'LLM input tokens.' }),
      tokensOut: t.exposeInt('tokensOut', { description: 'LLM output tokens.' }),
      costUsd: t.exposeFloat('costUsd', { description: 'LLM cost, US dollars.' }),
      models: t.exposeStringList('models', { description: 'The models the executions used.' }),
    }),
  });

CodingTaskRef.implement({
  description: 'A unit of work for the coding agent: what to do, where, and how far it got.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    title: t.exposeString('title', { description: 'One-line summary, 1-200 characters.' }),
    description: t.exposeString('description', { description: 'What to do, in detail (may be empty).' }),
    repository: t.exposeString('repository', {
      nullable: true,
      description:
        'Repository reference: `owner/name` on GitHub, or the absolute path of a local git repository.',
    }),
    baseBranch: t.exposeString('baseBranch', {
      nullable: true,
      description:
        "The branch the task starts from and its pull request targets; null = the repository's default branch.",
    }),
    command: t.string({
      nullable: true,
      description:
        'Shell command the shell executor runs, if any, with secret-looking parts shown as [REDACTED].',
      // Readers (VIEWERs too) see the command, never a token someone pasted into it.
      resolve: (task) => (task.command === null ? null : new Redactor().redact(task.command)),
    }),
    timeoutSeconds: t.exposeInt('timeoutSeconds', {
      nullable: true,
      description: "Time limit of one execution, seconds; null means the deployment's default.",
    }),
    verifyCommand: t.string({
      nullable: true,
      description:
        'Agent: the command whose exit code 0 means the work is done (secret-looking parts [REDACTED]); null = detected from the repository.',
      resolve: (task) => (task.verifyCommand === null ? null : new Redactor().redact(task.verifyCommand)),
    }),
    setupCommand: t.string({
      nullable: true,
      description:
        'Agent: the command that installs the dependencies (secret-looking parts [REDACTED]); null = detected from the repository.',
      resolve: (task) => (task.setupCommand === null ? null : new Redactor().redact(task.setupCommand)),
    }),
    allowNetwork: t.exposeBoolean('allowNetwork', {
      description:
        "Agent: whether its own commands may use the network (dependency installation follows the deployment's AGENT_SETUP_NETWORK).",
    }),
    budgets: t.field({
      type: TaskBudgetsRef,
      nullable: true,
      description: "Agent: this task's budget overrides; null = the strategy's defaults.",
      resolve: (task) => {
        const budgets = (task.budgets ?? null) as {
          tokens?: number;
          usd?: number;
          toolCalls?: number;
          wallTimeMs?: number;
        } | null;
        return budgets
          ? {
              tokens: budgets.tokens ?? null,
              usd: budgets.usd ?? null,
              toolCalls: budgets.toolCalls ?? null,
              wallTimeSeconds:
                budgets.wallTimeMs === undefined ? null : Math.round(budgets.wallTimeMs / 1_000),
            }
          : null;
      },
    }),
    usage: t.field({
      type: TaskUsageRef,
      description: 'LLM usage summed over every execution of the task.',
      resolve: async (task, _args, ctx) => {
        const executions = await ctx.loaders.executionsByTask.load(task.id);
        return {
          tokensIn: executions.reduce((sum, execution) => sum + execution.tokensIn, 0),
          tokensOut: executions.reduce((sum, execution) => sum + execution.tokensOut, 0),
          costUsd: executions.reduce((sum, execution) => sum + Number(execution.costUsd), 0),
          models: [
            ...new Set(
              executions
                .map((execution) => execution.model)
                .filter((model): model is string => model !== null),
            ),
          ],
        };
      },
    }),
    creator: t.field({
      type: UserRef,
      description: 'Who created the task.',
      resolve: (task) => ({ id: task.creatorId }),
    }),
    type: t.field({
      type: TaskTypeEnum,
      nullable: true,
      description: "The classifier's label; null until classified.",
      resolve: (task) => task.type,
    }),
    complexity: t.field({
      type: TaskComplexityEnum,
      nullable: true,
      description: "The classifier's complexity; null until classified.",
      resolve: (task) => task.complexity,
    }),
    strategy: t.field({
      type: ExecutionStrategyEnum,
      nullable: true,
      description: 'The strategy executions use; null while the task waits for its classification.',
      resolve: (task) => task.strategy,
    }),
    strategySource: t.field({
      type: StrategySourceEnum,
      nullable: true,
      description: 'Where the strategy came from: override, classification or the default after the timeout.',
      resolve: (task) => task.strategySource,
    }),
    strategyOverride: t.field({
      type: ExecutionStrategyEnum,
      nullable: true,
      description: 'The strategy the creator chose, if any.',
      resolve: (task) => task.strategyOverride,
    }),
    priority: t.field({
      type: TaskPriorityEnum,
      description: 'Queue priority.',
      resolve: (task) => task.priority,
    }),
    status: t.field({
      type: TaskStatusEnum,
      description: 'Where the task is in its life.',
      resolve: (task) => task.status,
    }),
    availableTransitions: t.field({
      type: [TaskStatusEnum],
      description:
        'States the task may move to next, per the state machine (not whether the caller may move it).',
      resolve: (task) => nextStatuses(task.status),
    }),
    version: t.exposeInt('version', {
      description: 'Increases with every change of the task (optimistic locking).',
    }),
    attempts: t.exposeInt('attempts', { description: 'Executions created so far.' }),
    classificationDeadlineAt: t.expose('classificationDeadlineAt', {
      type: 'DateTime',
      nullable: true,
      description: 'While CLASSIFYING: when the default strategy applies if no classification arrived.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the task was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the task last changed.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its first execution started.',
    }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it reached SUCCEEDED, FAILED or CANCELLED (cleared by a retry).',
    }),
    executions: t.field({
      type: [TaskExecutionRef],
      description: 'Every execution attempt, oldest first.',
      directives: policyDirectives.listSize(PER_TASK_ASSUMED),
      resolve: (task, _args, ctx) => ctx.loaders.executionsByTask.load(task.id),
    }),
    latestExecution: t.field({
      type: TaskExecutionRef,
      nullable: true,
      description: 'The most recent execution attempt, if any.',
      resolve: async (task, _args, ctx) => (await ctx.loaders.executionsByTask.load(task.id)).at(-1) ?? null,
    }),
    result: t.field({
      type: ExecutionResultRef,
      nullable: true,
      description: 'The result of the most recent finished execution, if any.',
      resolve: (task, _args, ctx) => latestResult(task, ctx),
    }),
    verification: t.field({
      type: TaskVerificationRef,
      nullable: true,
      description:
        "Whether the agent's change passed its own tests: the last verification run of the most recent finished execution; null when none ran.",
      resolve: async (task, _args, ctx) => shownVerification((await latestResult(task, ctx))?.verification),
    }),
    inputRequest: t.field({
      type: TaskInputRef,
      nullable: true,
      description: 'The open question while AWAITING_INPUT; answer it with `provideTaskInput`.',
      resolve: async (task, _args, ctx) =>
        task.status === 'AWAITING_INPUT'
          ? ((await ctx.loaders.inputsByTask.load(task.id)).filter((input) => input.answer === null).at(-1) ??
            null)
          : null,
    }),
    inputs: t.field({
      type: [TaskInputRef],
      description: 'Every question the task asked and its answer, oldest first.',
      directives: policyDirectives.listSize(PER_TASK_ASSUMED),
      resolve: (task, _args, ctx) => ctx.loaders.inputsByTask.load(task.id),
    }),
  }),
});

builder.asEntity(CodingTaskRef, {
  key: builder.selection<{ id: string }>('id'),
  // Other subgraphs reference tasks; callers who may read tasks get them, others null.
  resolveReference: (reference, ctx) =>
    hasScope(ctx.principal, 'tasks:read') && UUID.test(reference.id)
      ? ctx.loaders.task.load(reference.id.toLowerCase())
      : null,
});

/** Filter of task lists, shared by `tasks` and `tasksChanged`. */
export const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Narrows a task list; every given field must match.',
  fields: (t) => ({
    status: t.field({
      type: [TaskStatusEnum],
      required: false,
      description: 'Tasks in any of these states.',
    }),
    repository: t.string({
      required: false,
      description: 'Tasks of this repository reference (as shown in `repository`).',
    }),
    creatorId: t.id({ required: false, description: 'Tasks created by this user.' }),
    createdAfter: t.field({
      type: 'DateTime',
      required: false,
      description: 'Created at or after this instant.',
    }),
    createdBefore: t.field({
      type: 'DateTime',
      required: false,
      description: 'Created before this instant.',
    }),
  }),
});

const TaskOrderInput = builder.inputType('TaskOrder', {
  description: 'Sort order of a task list; ties are broken by creation time, then id.',
  fields: (t) => ({
    field: t.field({ type: TaskOrderFieldEnum, required: true, description: 'What to sort by.' }),
    direction: t.field({ type: SortDirectionEnum, required: true, description: 'Which way.' }),
  }),
});

builder.queryFields((t) => ({
  task: t.field({
    type: CodingTaskRef,
    nullable: true,
    description: 'A task by id, or null when there is none (needs `tasks:read`).',
    directives: policyDirectives.requiresScopes('tasks:read'),
    args: { id: t.arg.id({ required: true, description: 'The task id.' }) },
    resolve: (_root, args, ctx) => ctx.loaders.task.load(parseId(String(args.id))),
  }),
  tasks: t.connection(
    {
      type: CodingTaskRef,
      description: `Tasks, filtered and sorted (default newest first); pages of ${PAGE.default} (at most ${PAGE.max}). Needs \`tasks:read\`.`,
      directives: {
        ...policyDirectives.requiresScopes('tasks:read'),
        ...policyDirectives.connectionSize(PAGE.default),
      },
      args: {
        filter: t.arg({ type: TaskFilterInput, required: false, description: 'Only tasks matching this.' }),
        orderBy: t.arg({
          type: TaskOrderInput,
          required: false,
          description: 'Sort order (default CREATED_AT DESC).',
        }),
      },
      resolve: (_root, args, ctx) => {
        resolvePageSize(args, PAGE);
        const order: TaskOrder = args.orderBy ?? DEFAULT_TASK_ORDER;
        return resolveCursorConnection(
          {
            args,
            defaultSize: PAGE.default,
            maxSize: PAGE.max,
            toCursor: (task: CodingTask) => encodeTaskCursor(task, order),
          },
          ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
            findTaskPage(ctx.deps, { filter: args.filter, order, after, before, limit, inverted }),
        );
      },
    },
    { name: 'CodingTaskConnection', description: 'A page of coding tasks.' },
    { name: 'CodingTaskEdge', description: 'A coding task in a page, with its cursor.' },
  ),
}));
