import type { ExecutionStrategy, TaskComplexity, TaskPriority, TaskType } from '../generated/prisma/client.js';
import type { TaskLogSink } from './taskLogs.js';
import type { Workspace } from './workspace.js';

/**
 * What runs a task. The worker claims an execution, prepares a workspace, picks the first executor whose
 * `canExecute` accepts the task, and hands it an {@link ExecutionContext}. The agent issue adds an LLM agent
 * executor (strategies SINGLE_SHOT, ITERATIVE, MULTI_AGENT); today the only executor is the shell executor
 * (`shellExecutor.ts`), which runs the task's `command`.
 *
 * Contract:
 * - Write progress through `ctx.log` (redacted, batched, streamed live); register secrets you hand to tools
 *   with `ctx.log.registerSecret` before they could appear in output.
 * - Return an {@link ExecutionOutcome}; throwing is treated as a failure with code EXECUTOR_ERROR.
 * - Stop promptly when `ctx.signal` aborts (cancel, timeout, lost lease, shutdown), killing whatever you
 *   started; the worker decides what the abort means and ignores your outcome then.
 * - Report LLM usage with `ctx.usage.record`; it is stored on the execution.
 */
export interface Executor {
  /** Short stable name stored on the execution, e.g. `shell`, `agent`. */
  readonly name: string;
  /** True when this executor can run the task. */
  canExecute(task: ExecutableTask): boolean;
  execute(ctx: ExecutionContext): Promise<ExecutionOutcome>;
}

/** The task as an executor sees it. */
export interface ExecutableTask {
  id: string;
  title: string;
  description: string;
  /** The canonical repository reference, or null. */
  repository: string | null;
  command: string | null;
  type: TaskType | null;
  complexity: TaskComplexity | null;
  priority: TaskPriority;
  creatorId: string;
}

/** Everything an executor gets for one execution. */
export interface ExecutionContext {
  task: ExecutableTask;
  execution: { id: string; attempt: number; strategy: ExecutionStrategy };
  /** Questions this task asked before and the creator's answers, oldest first (see `awaiting_input`). */
  answers: ReadonlyArray<{ question: string; answer: string }>;
  /** The temporary checkout the executor works in; removed after the execution. */
  workspace: Workspace;
  log: TaskLogSink;
  usage: UsageRecorder;
  /** The execution's time limit, ms; the worker aborts `signal` when it passes. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** Collects LLM usage of one execution. */
export interface UsageRecorder {
  record(usage: { model?: string; tokensIn?: number; tokensOut?: number; costUsd?: number }): void;
}

/** What an execution produced. */
export interface ExecutionSuccess {
  summary: string;
  changedFiles?: string[];
  diffStats?: { filesChanged: number; additions: number; deletions: number };
  pullRequestUrl?: string | null;
  exitCode?: number | null;
}

/** How an execution ended, as the executor reports it. */
export type ExecutionOutcome =
  | { kind: 'succeeded'; result: ExecutionSuccess }
  | {
      kind: 'failed';
      error: { code: string; message: string; cause?: string | undefined };
      /** What was done before the failure (e.g. partial diff stats). */
      result?: Partial<ExecutionSuccess> | undefined;
    }
  /** The executor needs the creator's answer: the task waits in AWAITING_INPUT; a new attempt resumes it. */
  | { kind: 'awaiting_input'; question: string };
