/**
 * The executor contract: what orchestration's workers hand an executor and what it returns. Orchestration
 * (`subgraphs/orchestration/src/domain/executor.ts`) narrows it with its own types (Prisma enums, the command
 * sandbox, its workspace); the agent (`@cap/agent`) implements it. Both import it from here, so neither imports
 * the other for it (orchestration depends on the agent; the reverse would be a workspace cycle). Types and the
 * execution error codes (and the review notes' limits) only: no runtime dependency.
 *
 * Contract:
 * - Write progress through `ctx.log` (redacted, batched, streamed live); register secrets you hand to tools
 *   with `ctx.log.registerSecret` before they could appear in output.
 * - Report the steps of a plan (not every tool call) through `ctx.progress` when present: the task's chat
 *   conversation, if it has one, gets a short note per step.
 * - Return an {@link ExecutionOutcome}; throwing is treated as a failure with code EXECUTOR_ERROR.
 * - Stop promptly when `ctx.signal` aborts (cancel, timeout, lost lease, shutdown), killing whatever you
 *   started; the worker decides what the abort means and ignores your outcome then.
 * - Report LLM usage with `ctx.usage.record`; it is stored on the execution.
 */

import type { ReviewNote, VerificationOutcome } from './reviewNote.js';

/** How a task is executed: SINGLE_SHOT (simple), ITERATIVE (medium), MULTI_AGENT (complex). */
export type ExecutionStrategy = 'SINGLE_SHOT' | 'ITERATIVE' | 'MULTI_AGENT';
/** Level of a task log entry. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
/** Kind of a task log entry; the agent writes STEP, TOOL_CALL, COMMAND_OUTPUT, LLM_USAGE and MESSAGE. */
export type LogKind = 'STEP' | 'TOOL_CALL' | 'COMMAND_OUTPUT' | 'LLM_USAGE' | 'MESSAGE';

/** A JSON value, as log entries' structured data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One log entry as an executor (or orchestration's worker) writes it. */
export interface LogEntryInput {
  level: LogLevel;
  kind: LogKind;
  message: string;
  /** Structured data (tool arguments, token counts, the stream a line came from). */
  data?: JsonValue | undefined;
  /** Where the text came from (`stdout`, `stderr`): keeps multi-line secret redaction per source. */
  stream?: string | undefined;
}

/** What executors write logs through (redacted, batched, streamed live by orchestration). */
export interface TaskLogSink {
  /** Queues an entry; it is redacted now and stored with the next batch. */
  log(entry: LogEntryInput): void;
  /** Redacts `value` from every later entry of this execution (tokens handed to tools, passwords). */
  registerSecret(value: string): void;
  /** Resolves once fewer than the high-water mark of entries wait to be written (backpressure for chatty sources). */
  waitForCapacity(): Promise<void>;
}

/** Collects LLM usage of one execution. */
export interface UsageRecorder {
  record(usage: { model?: string; tokensIn?: number; tokensOut?: number; costUsd?: number }): void;
}

/**
 * Where an executor reports the steps of its plan: MULTI_AGENT's plan, subtasks and review rounds, the
 * verification runs of ITERATIVE and SINGLE_SHOT. Never called per tool call. Fire and forget: the worker
 * records notes in order and waits for them before it records the execution's end.
 */
export interface ProgressReporter {
  /** `role` is the agent role that reached the step (`agent`, `planner`, `coder`, `reviewer`). */
  note(role: string, text: string): void;
}

/** The checkout an execution works in. */
export interface Workspace {
  readonly dir: string;
  /** True when the task's repository was cloned into `dir`. */
  readonly cloned: boolean;
  changes(): Promise<{ files: string[]; additions: number; deletions: number } | null>;
  dispose(): Promise<void>;
}

/** Per-task budget overrides of the agent (validated and capped by `createTask`); left out = strategy default. */
export interface TaskBudgets {
  tokens?: number | undefined;
  usd?: number | undefined;
  toolCalls?: number | undefined;
  wallTimeMs?: number | undefined;
}

/** The task as an executor sees it. */
export interface ExecutableTask {
  id: string;
  title: string;
  description: string;
  /** The canonical repository reference, or null. */
  repository: string | null;
  /**
   * The branch the workspace was cloned at (its head is the work's base commit), or null/absent for the repository's
   * default branch.
   */
  baseBranch?: string | null | undefined;
  command: string | null;
  type: string | null;
  complexity: string | null;
  priority: string;
  creatorId: string;
  /** Agent: shell command whose exit code 0 means the work is done; null or absent = detected. */
  verifyCommand?: string | null | undefined;
  /** Agent: shell command that installs the dependencies; null or absent = detected. */
  setupCommand?: string | null | undefined;
  /** Agent: whether its own commands may use the network (setup follows its own setting). */
  allowNetwork?: boolean | undefined;
  /** Agent: per-task budget overrides; null or absent = the strategy's defaults. */
  budgets?: TaskBudgets | null | undefined;
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
  /** Plan steps, for the task's chat conversation; absent where nobody listens. */
  progress?: ProgressReporter | undefined;
  /** The execution's time limit, ms; the worker aborts `signal` when it passes. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** What an execution produced. */
export interface ExecutionSuccess {
  summary: string;
  changedFiles?: string[];
  diffStats?: { filesChanged: number; additions: number; deletions: number };
  pullRequestUrl?: string | null;
  exitCode?: number | null;
  /** Agent: the branch the work was pushed to, `agent/<short task id>`. */
  branch?: string;
  /** Agent: the pushed commit. */
  commitSha?: string | null;
  /** Agent: unified diff against the base commit, capped. */
  diff?: string;
  /** Agent: why it stopped (`finished`, or the error code). */
  stopReason?: string;
  /** Agent: what the model work took beyond the tokens and cost recorded through `ctx.usage`. */
  usage?: { tokensIn: number; tokensOut: number; costUsd: number; toolCalls: number; modelCalls: number };
  /** Agent: outcome of its last verification run; absent when none ran. */
  verification?: VerificationOutcome;
  /**
   * Agent: notes it attached to lines of its own change (within `REVIEW_NOTE_LIMITS`); orchestration
   * carries them in `TaskCompleted`, the github subgraph posts them as the pull request's line comments.
   */
  reviewNotes?: ReviewNote[];
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

/**
 * What runs a task. The worker claims an execution, prepares a workspace, picks the first executor whose
 * `canExecute` accepts the task, and hands it an {@link ExecutionContext} (orchestration's, which adds the
 * command sandbox).
 */
export interface Executor<TContext extends ExecutionContext = ExecutionContext, TTask = ExecutableTask> {
  /** Short stable name stored on the execution, e.g. `shell`, `agent`. */
  readonly name: string;
  /** True when this executor can run the task. */
  canExecute(task: TTask): boolean;
  execute(ctx: TContext): Promise<ExecutionOutcome>;
}

export * from './executionErrorCode.js';
export * from './reviewNote.js';
