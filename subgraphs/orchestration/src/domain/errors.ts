/**
 * Codes of a failed execution (`ExecutionResult.error.code`), declared once in `@cap/execution-contract` with
 * the executor contract (the agent uses the same registry).
 */
export { ExecutionErrorCode } from '@cap/execution-contract';
