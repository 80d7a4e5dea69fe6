import { ExecutionErrorCode } from '@cap/execution-contract';

/** The execution error codes the agent ends with (their meaning is documented in `@cap/execution-contract`). */
const AGENT_CODES = [
  'AGENT_NOT_CONFIGURED',
  'LLM_UNAVAILABLE',
  'LLM_REJECTED',
  'AGENT_STUCK',
  'BUDGET_EXCEEDED',
  'VERIFICATION_FAILED',
  'SETUP_FAILED',
  'GIT_FAILED',
  'AGENT_CANCELLED',
  'NO_REPOSITORY',
] as const satisfies ReadonlyArray<keyof typeof ExecutionErrorCode>;

/**
 * Codes of a failed agent execution (`ExecutionOutcome.error.code`): the agent's part of the one registry of
 * execution error codes, `ExecutionErrorCode` of `@cap/execution-contract`.
 */
export const AgentErrorCode = Object.fromEntries(
  AGENT_CODES.map((code) => [code, ExecutionErrorCode[code]]),
) as {
  readonly [K in (typeof AGENT_CODES)[number]]: (typeof ExecutionErrorCode)[K];
};
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
