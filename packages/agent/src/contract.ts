/**
 * The executor contract the agent implements, from `@cap/execution-contract` (shared with orchestration, which
 * depends on this package, so the contract lives in neither). An object built by {@link createAgentExecutor} is
 * assignable to orchestration's `Executor`.
 */
export type {
  ExecutableTask,
  ExecutionContext,
  ExecutionOutcome,
  ExecutionStrategy,
  Executor,
  JsonValue,
  LogEntryInput,
  LogKind,
  LogLevel,
  ProgressReporter,
  TaskLogSink,
  UsageRecorder,
  Workspace,
} from '@cap/execution-contract';
import type { ExecutionSuccess, TaskBudgets } from '@cap/execution-contract';

/** Per-task budget overrides; any budget left out takes the strategy's default. */
export type BudgetOverrides = TaskBudgets;
/** What an agent execution produced (the contract's `ExecutionSuccess`: branch, commit, diff, usage). */
export type AgentExecutionResult = ExecutionSuccess;
