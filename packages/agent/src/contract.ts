/**
 * The executor contract, declared structurally. Orchestration (`subgraphs/orchestration/src/execution/executor.ts`)
 * owns the original; this package cannot import it (orchestration imports the agent, so that would be a
 * workspace cycle), so the same shapes are restated here with string unions in place of the Prisma enums.
 * An object built by {@link createAgentExecutor} is assignable to orchestration's `Executor`.
 */

/** How a task is executed (orchestration's `ExecutionStrategy`). */
export type ExecutionStrategy = 'SINGLE_SHOT' | 'ITERATIVE' | 'MULTI_AGENT';
/** Orchestration's `LogLevel`. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
/** Orchestration's `LogKind`; the agent writes STEP, TOOL_CALL, COMMAND_OUTPUT, LLM_USAGE and MESSAGE. */
export type LogKind = 'STEP' | 'TOOL_CALL' | 'COMMAND_OUTPUT' | 'LLM_USAGE' | 'MESSAGE';

/** A JSON value, as log entries' structured data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One log entry as an executor writes it. */
export interface LogEntryInput {
  level: LogLevel;
  kind: LogKind;
  message: string;
  data?: JsonValue | undefined;
  stream?: string | undefined;
}

/** What executors write logs through (redacted, batched, streamed live by orchestration). */
export interface TaskLogSink {
  log(entry: LogEntryInput): void;
  registerSecret(value: string): void;
  waitForCapacity(): Promise<void>;
}

/** Collects LLM usage of one execution. */
export interface UsageRecorder {
  record(usage: { model?: string; tokensIn?: number; tokensOut?: number; costUsd?: number }): void;
}

/** The checkout an execution works in (orchestration's `Workspace`). */
export interface Workspace {
  readonly dir: string;
  readonly cloned: boolean;
  changes(): Promise<{ files: string[]; additions: number; deletions: number } | null>;
  dispose(): Promise<void>;
}

/** Per-task budget overrides; any budget left out takes the strategy's default. */
export interface BudgetOverrides {
  tokens?: number | undefined;
  usd?: number | undefined;
  toolCalls?: number | undefined;
  wallTimeMs?: number | undefined;
}

/**
 * The task as an executor sees it. The last four fields are optional additions the agent understands and
 * orchestration does not store yet; without them the agent detects the verification command, keeps commands
 * offline and uses the strategy's default budgets.
 */
export interface ExecutableTask {
  id: string;
  title: string;
  description: string;
  repository: string | null;
  command: string | null;
  type: string | null;
  complexity: string | null;
  priority: string;
  creatorId: string;
  /** Shell command whose exit code 0 means the work is done; detected from the repository when absent. */
  verifyCommand?: string | null | undefined;
  /** Shell command that installs the dependencies; detected from the repository when absent. */
  setupCommand?: string | null | undefined;
  /** Lets the agent's own commands use the network (setup always may, see `setupNetwork`). */
  allowNetwork?: boolean | undefined;
  budgets?: BudgetOverrides | null | undefined;
}

/** Everything an executor gets for one execution. */
export interface ExecutionContext {
  task: ExecutableTask;
  execution: { id: string; attempt: number; strategy: ExecutionStrategy };
  answers: ReadonlyArray<{ question: string; answer: string }>;
  workspace: Workspace;
  log: TaskLogSink;
  usage: UsageRecorder;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * What an execution produced. `branch`, `commitSha`, `diff` and `usage` go beyond orchestration's
 * `ExecutionSuccess` today (extra fields are structurally allowed); orchestration stores them once wired.
 */
export interface AgentExecutionResult {
  summary: string;
  changedFiles?: string[];
  diffStats?: { filesChanged: number; additions: number; deletions: number };
  pullRequestUrl?: string | null;
  exitCode?: number | null;
  /** The branch the work was pushed to, `agent/<short task id>`. */
  branch?: string;
  commitSha?: string | null;
  /** Unified diff against the base commit, capped (see `diffMaxChars`). */
  diff?: string;
  /** Why the agent stopped: `finished`, or the error code. */
  stopReason?: string;
  usage?: { tokensIn: number; tokensOut: number; costUsd: number; toolCalls: number; modelCalls: number };
}

/** How an execution ended. */
export type ExecutionOutcome =
  | { kind: 'succeeded'; result: AgentExecutionResult }
  | {
      kind: 'failed';
      error: { code: string; message: string; cause?: string | undefined };
      result?: Partial<AgentExecutionResult> | undefined;
    }
  | { kind: 'awaiting_input'; question: string };

/** What runs a task (orchestration's `Executor`). */
export interface Executor {
  readonly name: string;
  canExecute(task: ExecutableTask): boolean;
  execute(ctx: ExecutionContext): Promise<ExecutionOutcome>;
}
