import { codedError, ErrorCode, policyDirectives, resumable } from '@cap/runtime';
import { pageSize, resolvePageSize } from '@cap/runtime/kit';
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { watchTask, watchTasks, type TaskChange } from '../logs/taskFeeds.js';
import { encodeTaskLogCursor, findTaskLogPage } from '../logs/taskLogQueries.js';
import { taskFilterWhere } from '../domain/taskQueries.js';
import { parseId } from '../domain/validation.js';
import type { OrchestrationContext } from '../context.js';
import type { TaskLog } from '../generated/prisma/client.js';
import { LogKindEnum, LogLevelEnum, TaskStatusEnum } from './enums.js';
import { CodingTaskRef, TaskLogRef } from './refs.js';
import { TaskFilterInput } from './task.js';

/** Page size limits of task logs. */
const PAGE = pageSize({ default: 100, max: 1_000 });

TaskLogRef.implement({
  description: 'One entry of a task’s append-only log. Secrets are redacted before entries are stored.',
  fields: (t) => ({
    seq: t.exposeInt('seq', {
      description: 'Position in the task’s log: 1, 2, 3… with no gaps, in write order.',
    }),
    taskId: t.exposeID('taskId', { description: 'The task the entry belongs to.' }),
    executionId: t.exposeID('executionId', {
      nullable: true,
      description: 'The execution that wrote it, if any.',
    }),
    level: t.field({ type: LogLevelEnum, description: 'Severity.', resolve: (entry) => entry.level }),
    kind: t.field({
      type: LogKindEnum,
      description: 'What the entry records.',
      resolve: (entry) => entry.kind,
    }),
    message: t.exposeString('message', {
      description: 'The text (one line of output for COMMAND_OUTPUT), redacted.',
    }),
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Structured data, redacted (e.g. `{ "stream": "stderr" }`).',
      resolve: (entry) => entry.data,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the entry was written.' }),
  }),
});

const TaskChangeRef = builder.objectRef<TaskChange>('TaskChange').implement({
  description: 'A change of a task, for live task lists.',
  fields: (t) => ({
    task: t.field({
      type: CodingTaskRef,
      description: 'The task after the change.',
      resolve: (change) => change.task,
    }),
    previousStatus: t.field({
      type: TaskStatusEnum,
      nullable: true,
      description: 'The status before the change; null when the task was just created.',
      resolve: (change) => change.previousStatus,
    }),
    inFilter: t.exposeBoolean('inFilter', {
      description:
        "False when the change took the task out of the subscription's filter: remove it from the list.",
    }),
  }),
});

/**
 * The task must exist. That the caller may read tasks is the fields' `@requiresScopes(tasks:read)`, enforced
 * before any resolver runs (ADR 0007).
 */
export async function requireTask(ctx: OrchestrationContext, rawId: string | number): Promise<string> {
  const taskId = parseId(String(rawId), 'taskId');
  if (!(await ctx.loaders.task.load(taskId)))
    throw codedError(ErrorCode.NOT_FOUND, 'Task not found.', { id: taskId });
  return taskId;
}

/** The `afterSeq` argument of the task-log subscriptions: absent is 0, negative is BAD_USER_INPUT. */
export function parseAfterSeq(value: number | null | undefined): number {
  const afterSeq = value ?? 0;
  if (!Number.isInteger(afterSeq) || afterSeq < 0) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'afterSeq must not be negative.', {
      field: 'afterSeq',
      expected: 'an integer >= 0',
      received: String(afterSeq),
    });
  }
  return afterSeq;
}

/** The arguments of the task-log subscriptions. */
const taskLogSubscriptionArgs = builder.args((t) => ({
  taskId: t.id({ required: true, description: 'The task.' }),
  afterSeq: t.int({
    required: false,
    defaultValue: 0,
    description: 'Emit entries with a greater `seq` (default 0: the whole log).',
  }),
}));

/**
 * What the task-log subscriptions (`taskLogs`, `taskLogBatches`) share: the `taskId`/`afterSeq` arguments, the
 * `tasks:read` scope, resuming after `afterSeq` from the event's `resumeField`, and a subscribe that checks the
 * task and the cursor before `open` tails the log.
 */
export function taskLogSubscription<TEvent>(
  resumeField: string,
  open: (ctx: OrchestrationContext, taskId: string, afterSeq: number) => Promise<AsyncIterable<TEvent>>,
) {
  return {
    directives: { ...policyDirectives.requiresScopes('tasks:read'), ...resumable('afterSeq', resumeField) },
    args: taskLogSubscriptionArgs,
    subscribe: async (
      _root: unknown,
      args: { taskId: string | number; afterSeq?: number | null | undefined },
      ctx: OrchestrationContext,
    ): Promise<AsyncIterable<TEvent>> =>
      open(ctx, await requireTask(ctx, args.taskId), parseAfterSeq(args.afterSeq)),
  };
}

builder.queryFields((t) => ({
  taskLogs: t.connection(
    {
      type: TaskLogRef,
      description: `A task's log in \`seq\` order; pages of ${PAGE.default} (at most ${PAGE.max}). Needs \`tasks:read\`.`,
      directives: {
        ...policyDirectives.requiresScopes('tasks:read'),
        ...policyDirectives.connectionSize(PAGE.default),
      },
      args: { taskId: t.arg.id({ required: true, description: 'The task.' }) },
      resolve: async (_root, args, ctx) => {
        const taskId = await requireTask(ctx, args.taskId);
        resolvePageSize(args, PAGE);
        return resolveCursorConnection(
          {
            args,
            defaultSize: PAGE.default,
            maxSize: PAGE.max,
            toCursor: (entry: TaskLog) => encodeTaskLogCursor(entry),
          },
          ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
            findTaskLogPage(ctx.deps, { taskId, after, before, limit, inverted }),
        );
      },
    },
    { name: 'TaskLogConnection', description: 'A page of task log entries.' },
    { name: 'TaskLogEdge', description: 'A task log entry in a page, with its cursor.' },
  ),
}));

builder.subscriptionFields((t) => ({
  taskLogs: t.field({
    type: TaskLogRef,
    description:
      "A task's log entries after `afterSeq`: the stored ones first, then live ones as they are written, each exactly once and in `seq` order. To resume after a disconnect, subscribe again with the last `seq` received.",
    ...taskLogSubscription('seq', (ctx, taskId, afterSeq) => ctx.logTails.tail(taskId, afterSeq)),
    resolve: (entry) => entry,
  }),
  taskUpdated: t.field({
    type: CodingTaskRef,
    description:
      "A task's current state when subscribed, then its new state after every change (never an older one).",
    directives: policyDirectives.requiresScopes('tasks:read'),
    args: { taskId: t.arg.id({ required: true, description: 'The task.' }) },
    subscribe: async (_root, args, ctx) => watchTask(ctx.deps, await requireTask(ctx, args.taskId)),
    resolve: (task, _args, ctx) => {
      // One context serves the whole subscription: each event must read fresh executions and results.
      ctx.loaders.clear();
      return task;
    },
  }),
  tasksChanged: t.field({
    type: TaskChangeRef,
    description:
      'Every change of a task matching the filter, including changes that take a task out of it (`inFilter: false`).',
    directives: policyDirectives.requiresScopes('tasks:read'),
    args: {
      filter: t.arg({
        type: TaskFilterInput,
        required: false,
        description: 'Only tasks matching this (before or after the change).',
      }),
    },
    subscribe: (_root, args, ctx) => {
      taskFilterWhere(args.filter); // validates it (a malformed creatorId is BAD_USER_INPUT, not a silent miss)
      return watchTasks(ctx.deps, args.filter);
    },
    resolve: (change, _args, ctx) => {
      ctx.loaders.clear();
      return change;
    },
  }),
}));
