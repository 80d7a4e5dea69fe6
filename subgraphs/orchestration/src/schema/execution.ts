import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import { Redactor } from '../domain/redaction.js';
import { verificationOf, type TaskVerification } from '../domain/verification.js';
import { ExecutionStatusEnum, ExecutionStrategyEnum } from './enums.js';
import { CodingTaskRef, ExecutionResultRef, TaskExecutionRef, TaskInputRef } from './refs.js';

/** `@cost` of an execution's diff: up to AGENT_DIFF_MAX_CHARS of text, the largest field of a result. */
const DIFF_COST = 5;

TaskExecutionRef.implement({
  description: 'One attempt at running a task, from claim to outcome.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    attempt: t.exposeInt('attempt', { description: 'Attempt number within its task, from 1.' }),
    status: t.field({
      type: ExecutionStatusEnum,
      description: 'Where the attempt is.',
      resolve: (execution) => execution.status,
    }),
    strategy: t.field({
      type: ExecutionStrategyEnum,
      description: 'The strategy it runs with.',
      resolve: (execution) => execution.strategy,
    }),
    executor: t.exposeString('executor', {
      nullable: true,
      description: 'The executor that ran it, e.g. `shell`.',
    }),
    model: t.exposeString('model', {
      nullable: true,
      description: 'The LLM model used, when an agent ran it.',
    }),
    worker: t.exposeString('workerId', {
      nullable: true,
      description: 'The worker that claimed it (host/pid/instance).',
    }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', description: 'When it was queued.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a worker claimed it.',
    }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
    leaseExpiresAt: t.expose('leaseExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'While RUNNING: when the worker must have renewed its lease, or another worker takes over.',
    }),
    tokensIn: t.exposeInt('tokensIn', { description: 'LLM input tokens used.' }),
    tokensOut: t.exposeInt('tokensOut', { description: 'LLM output tokens used.' }),
    costUsd: t.float({
      description: 'LLM cost, US dollars.',
      resolve: (execution) => Number(execution.costUsd),
    }),
    result: t.field({
      type: ExecutionResultRef,
      nullable: true,
      description: 'What it produced; null until it ended.',
      resolve: (execution, _args, ctx) => ctx.loaders.resultByExecution.load(execution.id),
    }),
    task: t.field({
      type: CodingTaskRef,
      description: 'The task it belongs to.',
      resolve: async (execution, _args, ctx) => {
        const task = await ctx.loaders.task.load(execution.taskId);
        if (!task) throw new Error(`execution ${execution.id} has no task`);
        return task;
      },
    }),
  }),
});

const DiffStatsRef = builder
  .objectRef<{ filesChanged: number; additions: number; deletions: number }>('DiffStats')
  .implement({
    description: 'Size of the change an execution made.',
    fields: (t) => ({
      filesChanged: t.exposeInt('filesChanged', { description: 'Files added, changed or deleted.' }),
      additions: t.exposeInt('additions', { description: 'Lines added.' }),
      deletions: t.exposeInt('deletions', { description: 'Lines deleted.' }),
    }),
  });

/**
 * A stored verification as the graph shows it: null for a row that holds none or anything but `{ passed: boolean,
 * command?: string }` (never an error), the command cut and with secret-looking parts redacted, like the task's
 * `verifyCommand`.
 */
export function shownVerification(stored: unknown): TaskVerification | null {
  const verification = verificationOf(stored);
  if (!verification) return null;
  return {
    passed: verification.passed,
    command: verification.command === null ? null : new Redactor().redact(verification.command),
  };
}

export const TaskVerificationRef = builder.objectRef<TaskVerification>('TaskVerification').implement({
  description:
    "The outcome of the agent's last verification run on its change: its tests, the task's `verifyCommand` or the command it detected.",
  fields: (t) => ({
    passed: t.exposeBoolean('passed', { description: 'True when the command exited 0.' }),
    command: t.exposeString('command', {
      nullable: true,
      description:
        'The command that ran, cut to 2,000 characters, secret-looking parts [REDACTED]; null when none was named.',
    }),
  }),
});

const ExecutionErrorRef = builder
  .objectRef<{ code: string; message: string; cause: string | null }>('ExecutionError')
  .implement({
    description: 'Why an execution failed.',
    fields: (t) => ({
      code: t.exposeString('code', {
        description: `Stable code: ${Object.keys(ExecutionErrorCode).join(', ')} (see the error-code table of the README).`,
      }),
      message: t.exposeString('message', { description: 'What happened, for people.' }),
      cause: t.exposeString('cause', {
        nullable: true,
        description: 'Underlying detail, e.g. the last lines of stderr (redacted).',
      }),
    }),
  });

ExecutionResultRef.implement({
  description: 'What an execution produced, or why it failed.',
  fields: (t) => ({
    summary: t.exposeString('summary', { description: 'One-paragraph account of the outcome.' }),
    changedFiles: t.exposeStringList('changedFiles', {
      description: 'Paths changed in the workspace, relative to its root.',
    }),
    diffStats: t.field({
      type: DiffStatsRef,
      description: 'Size of the change.',
      resolve: (result) => ({
        filesChanged: result.filesChanged,
        additions: result.additions,
        deletions: result.deletions,
      }),
    }),
    pullRequestUrl: t.exposeString('pullRequestUrl', {
      nullable: true,
      description: 'The pull request opened for the change, if any.',
    }),
    exitCode: t.exposeInt('exitCode', {
      nullable: true,
      description: 'Exit code of the shell command, if one ran.',
    }),
    branch: t.exposeString('branch', {
      nullable: true,
      description: 'Agent: the branch its work was pushed to, `agent/<first 8 characters of the task id>`.',
    }),
    commitSha: t.exposeString('commitSha', {
      nullable: true,
      description: 'Agent: the commit pushed to `branch`; null when nothing was committed.',
    }),
    diff: t.exposeString('diff', {
      nullable: true,
      description:
        'Agent: unified diff of `branch` against the commit it started from, capped at AGENT_DIFF_MAX_CHARS (redacted).',
      directives: policyDirectives.cost(DIFF_COST),
    }),
    stopReason: t.exposeString('stopReason', {
      nullable: true,
      description: 'Agent: why it stopped: `finished`, or the error code.',
    }),
    toolCalls: t.exposeInt('toolCalls', {
      description: 'Agent: tool calls the model made (0 for other executors).',
    }),
    modelCalls: t.exposeInt('modelCalls', {
      description: 'Agent: model calls made (0 for other executors).',
    }),
    verification: t.field({
      type: TaskVerificationRef,
      nullable: true,
      description: 'Agent: its last verification run in this execution; null when none ran.',
      resolve: (result) => shownVerification(result.verification),
    }),
    error: t.field({
      type: ExecutionErrorRef,
      nullable: true,
      description: 'Why it failed; null when it did not.',
      resolve: (result) =>
        result.errorCode
          ? { code: result.errorCode, message: result.errorMessage ?? '', cause: result.errorCause }
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the result was recorded.' }),
  }),
});

TaskInputRef.implement({
  description: 'A question a running task asked its creator, and the answer.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    question: t.exposeString('question', { description: 'What the task asked.' }),
    answer: t.exposeString('answer', { nullable: true, description: 'The answer; null while unanswered.' }),
    askedAt: t.expose('askedAt', { type: 'DateTime', description: 'When it was asked.' }),
    answeredAt: t.expose('answeredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was answered.',
    }),
    answeredBy: t.exposeID('answeredBy', { nullable: true, description: 'Id of the user who answered.' }),
  }),
});
