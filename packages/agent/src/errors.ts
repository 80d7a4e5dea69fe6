/**
 * Codes of a failed agent execution (`ExecutionOutcome.error.code`). Like orchestration's
 * `ExecutionErrorCode` they describe what happened to the work, not a request; the lead adds them to that
 * registry and the README's error-code table when orchestration wires the agent in.
 */
export const AgentErrorCode = {
  /** No model is configured: set AGENT_MODEL and the provider's variables (see the message). */
  AGENT_NOT_CONFIGURED: 'AGENT_NOT_CONFIGURED',
  /** The model provider kept failing (429, 5xx, resets, timeouts, stalled streams) until retries ran out. */
  LLM_UNAVAILABLE: 'LLM_UNAVAILABLE',
  /** The provider refused the request (bad key, unknown model, invalid request): retrying cannot help. */
  LLM_REJECTED: 'LLM_REJECTED',
  /** The agent repeated the same tool call with the same arguments after being told it was stuck. */
  AGENT_STUCK: 'AGENT_STUCK',
  /** A budget (tokens, usd, toolCalls, wallTimeMs, toolRounds) ran out; `message` names it. Work is kept. */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  /** The agent finished but the verification command failed (SINGLE_SHOT verifies once). */
  VERIFICATION_FAILED: 'VERIFICATION_FAILED',
  /** Installing the repository's dependencies (or the task's setup command) failed. */
  SETUP_FAILED: 'SETUP_FAILED',
  /** A git operation on the workspace (branch checkout, commit, push) failed; `cause` has git's output. */
  GIT_FAILED: 'GIT_FAILED',
  /** The execution was stopped (cancel, timeout, shutdown) while the agent worked. */
  AGENT_CANCELLED: 'AGENT_CANCELLED',
  /** The workspace is not a git clone of a repository; the agent needs one to work on a branch. */
  NO_REPOSITORY: 'NO_REPOSITORY',
} as const;
/** A code of a failed agent execution. */
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

/** An error that ends an agent execution with a code. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: AgentErrorCode;
  readonly detail: string | undefined;

  constructor(code: AgentErrorCode, message: string, options: { cause?: unknown; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
  }
}
