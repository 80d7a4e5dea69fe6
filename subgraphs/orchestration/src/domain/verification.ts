import { REVIEW_NOTE_LIMITS } from '@cap/execution-contract';
import { cappedText } from './storableText.js';

/** The outcome of the agent's last verification run (its tests) on a task's change. */
export interface TaskVerification {
  /** True when the command exited 0. */
  passed: boolean;
  /** The command that ran, cut to `REVIEW_NOTE_LIMITS.maxCommandChars`; null when none was named. */
  command: string | null;
}

/**
 * A verification outcome from an executor's result, or from a stored one, as `TaskCompleted`, `execution_results`
 * and the graph carry it: null unless `passed` is a boolean (an executor, or a row written by older or hostile
 * code, may hold anything); the command kept only when it is a non-empty string, cut and made storable.
 */
export function verificationOf(value: unknown): TaskVerification | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const { passed, command } = value as { passed?: unknown; command?: unknown };
  if (typeof passed !== 'boolean') return null;
  return {
    passed,
    command:
      typeof command === 'string' && command.length > 0
        ? cappedText(command, REVIEW_NOTE_LIMITS.maxCommandChars)
        : null,
  };
}
