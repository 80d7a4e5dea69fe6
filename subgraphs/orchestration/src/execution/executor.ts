import type {
  ExecutionStrategy,
  TaskComplexity,
  TaskPriority,
  TaskType,
} from '../generated/prisma/client.js';
import type { CommandSandbox } from './commandSandbox.js';
import type { TaskLogSink } from '../logs/taskLogs.js';
import type { Workspace } from './workspace.js';

/**
 * What runs a task. The worker claims an execution, prepares a workspace, picks the first executor whose
 * `canExecute` accepts the task, and hands it an {@link ExecutionContext}. The shell executor (`shellExecutor.ts`)
 * runs the task's `command`; the agent executor (`agentExecutor.ts`, `@cap/agent`) works on tasks without one
 * with an LLM (strategies SINGLE_SHOT, ITERATIVE, MULTI_AGENT).
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
  /** Agent: shell command whose exit code 0 means the work is done; null = detected from the repository. */
  verifyCommand: string | null;
  /** Agent: shell command that installs the dependencies; null = detected from the repository. */
  setupCommand: string | null;
  /** Agent: whether its own commands may use the network. */
  allowNetwork: boolean;
  /** Agent: per-task budget overrides; null = the strategy's defaults. */
  budgets: TaskBudgets | null;
}

/** Per-task budget overrides of the agent (validated and capped by `createTask`). */
export interface TaskBudgets {
  tokens?: number | undefined;
  usd?: number | undefined;
  toolCalls?: number | undefined;
  wallTimeMs?: number | undefined;
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
  /** Where commands on the workspace run (detected at start): executors run nothing outside it. */
  sandbox: CommandSandbox;
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
  /** Agent: the branch the work was pushed to. */
  branch?: string;
  /** Agent: the pushed commit. */
  commitSha?: string | null;
  /** Agent: unified diff against the base commit, capped. */
  diff?: string;
  /** Agent: why it stopped (`finished`, or the error code). */
  stopReason?: string;
  /** Agent: what the model work took beyond the tokens and cost recorded through `ctx.usage`. */
  usage?: { tokensIn: number; tokensOut: number; costUsd: number; toolCalls: number; modelCalls: number };
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
