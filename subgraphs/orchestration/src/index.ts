export { loadConfig, orchestrationEnvSchema, type OrchestrationConfig } from './config.js';
export { startOrchestration, type RunningOrchestration, type StartOrchestrationOptions } from './app.js';
export type {
  Executor,
  ExecutionContext,
  ExecutionOutcome,
  ExecutableTask,
  ExecutionSuccess,
  UsageRecorder,
} from './execution/executor.js';
export type { TaskLogSink, LogEntryInput } from './logs/taskLogs.js';
export { LiveTopic } from './live/LiveTopic.js';
export type { Workspace, WorkspaceChanges } from './execution/workspace.js';
export {
  TASK_TRANSITIONS,
  canTransition,
  type TaskEvent,
  type TaskStatus,
} from './domain/taskStateMachine.js';
export { ExecutionErrorCode } from './domain/errors.js';
export { GithubMirror, GithubMirrorError, GithubRepositories } from './github/githubMirror.js';
