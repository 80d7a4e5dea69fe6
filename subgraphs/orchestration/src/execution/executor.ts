import type * as Contract from '@cap/execution-contract';
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
 * What runs a task: `@cap/execution-contract`'s executor contract (read its rules there), narrowed with
 * orchestration's own types: the Prisma enums, its workspace and the command sandbox. The shell executor
 * (`shellExecutor.ts`) runs the task's `command`; the agent executor (`agentTaskExecutor.ts`, `@cap/agent`) works
 * on tasks without one with an LLM (strategies SINGLE_SHOT, ITERATIVE, MULTI_AGENT).
 */
export type Executor = Contract.Executor<ExecutionContext, ExecutableTask>;

/** Per-task budget overrides of the agent (validated and capped by `createTask`). */
export type TaskBudgets = Contract.TaskBudgets;
/** Collects LLM usage of one execution. */
export type UsageRecorder = Contract.UsageRecorder;
/** What an execution produced. */
export type ExecutionSuccess = Contract.ExecutionSuccess;
/** How an execution ended, as the executor reports it. */
export type ExecutionOutcome = Contract.ExecutionOutcome;
/** Where an executor reports the steps of its plan (notes for the task's chat conversation). */
export type ProgressReporter = Contract.ProgressReporter;

/** The task as an executor sees it, with orchestration's enums and every agent field stored. */
export interface ExecutableTask extends Contract.ExecutableTask {
  type: TaskType | null;
  complexity: TaskComplexity | null;
  priority: TaskPriority;
  verifyCommand: string | null;
  setupCommand: string | null;
  allowNetwork: boolean;
  budgets: TaskBudgets | null;
}

/** Everything an executor gets for one execution: the contract's context, the worker's workspace and sandbox. */
export interface ExecutionContext extends Contract.ExecutionContext {
  task: ExecutableTask;
  execution: { id: string; attempt: number; strategy: ExecutionStrategy };
  /** The temporary checkout the executor works in; removed after the execution. */
  workspace: Workspace;
  log: TaskLogSink;
  /** Where commands on the workspace run (detected at start): executors run nothing outside it. */
  sandbox: CommandSandbox;
}
