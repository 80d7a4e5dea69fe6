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
  // The agent executor's codes (`@cap/agent`'s AgentErrorCode picks them; see its README).
  /** No model is configured (AGENT_MODEL and a provider's variables); the message names the variables to set. */
  AGENT_NOT_CONFIGURED: 'AGENT_NOT_CONFIGURED',
  /** The model provider kept failing (429, 5xx, resets, timeouts, stalled streams) until the retries ran out. */
  LLM_UNAVAILABLE: 'LLM_UNAVAILABLE',
  /** The model provider refused the request (bad key, unknown model, invalid request); not retried. */
  LLM_REJECTED: 'LLM_REJECTED',
  /** The agent repeated the same tool call after being nudged (or a planner produced no plan). */
  AGENT_STUCK: 'AGENT_STUCK',
  /** A budget (tokens, USD, tool calls, wall time, tool rounds) ran out; `cause` names it. */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  /** The verification command still fails when the agent is done. */
  VERIFICATION_FAILED: 'VERIFICATION_FAILED',
  /** Installing the dependencies (the setup command) failed. */
  SETUP_FAILED: 'SETUP_FAILED',
  /** A git operation on the workspace (checkout, commit, fetch, push) failed; `cause` has git's output. */
  GIT_FAILED: 'GIT_FAILED',
  /** The agent's execution was stopped (cancel, timeout, shutdown) while it worked. */
  AGENT_CANCELLED: 'AGENT_CANCELLED',
  /**
   * The task has no repository the agent can work on (none, or a GitHub `owner/name` on a worker without the github
   * subgraph, GITHUB_SUBGRAPH_URL).
   */
  NO_REPOSITORY: 'NO_REPOSITORY',
  /**
   * The github subgraph granted no token for the task's GitHub repository: not connected, or no credential covers it
   * (a GitHub App not installed on it). The message names the subgraph's code and the fix.
   */
  REPOSITORY_ACCESS_DENIED: 'REPOSITORY_ACCESS_DENIED',
  /**
   * The task's base branch (`baseBranch`, e.g. a CI fix's failing branch) does not exist in its repository: nothing
   * was cloned or run. The message names the branch and the repository.
   */
  BASE_BRANCH_NOT_FOUND: 'BASE_BRANCH_NOT_FOUND',
} as const;
/** A code of a failed execution. */
export type ExecutionErrorCode = (typeof ExecutionErrorCode)[keyof typeof ExecutionErrorCode];
