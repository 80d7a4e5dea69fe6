/**
 * Codes of a failed execution (`ExecutionResult.error.code`). They describe what happened to the work, not
 * a request, so they are not GraphQL error codes.
 */
export const ExecutionErrorCode = {
  /** The shell command exited with a non-zero code. */
  COMMAND_FAILED: 'COMMAND_FAILED',
  /** The execution ran longer than its time limit and was killed. */
  EXECUTION_TIMEOUT: 'EXECUTION_TIMEOUT',
  /** No executor can run the task (no command, and no agent executor is installed). */
  NO_EXECUTOR: 'NO_EXECUTOR',
  /** The workspace could not be prepared (e.g. `git clone` failed). */
  WORKSPACE_FAILED: 'WORKSPACE_FAILED',
  /** The worker running the execution stopped renewing its lease too many times (crashes). */
  WORKER_LOST: 'WORKER_LOST',
  /** The executor threw instead of returning an outcome. */
  EXECUTOR_ERROR: 'EXECUTOR_ERROR',
  /**
   * No command sandbox works on the worker (bubblewrap missing, user namespaces disabled), and COMMAND_SANDBOX=none
   * was not chosen: the command was not run. The task log names the fix.
   */
  SANDBOX_UNAVAILABLE: 'SANDBOX_UNAVAILABLE',
  /** The command printed more than COMMAND_OUTPUT_LIMIT_BYTES and was killed. */
  OUTPUT_LIMIT_EXCEEDED: 'OUTPUT_LIMIT_EXCEEDED',
} as const;
/** A code of a failed execution. */
export type ExecutionErrorCode = (typeof ExecutionErrorCode)[keyof typeof ExecutionErrorCode];
