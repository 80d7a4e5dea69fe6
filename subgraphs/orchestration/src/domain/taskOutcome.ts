import type { TaskOutcome } from '@cap/events';
import type { ExecutionSuccess } from '../execution/executor.js';

/**
 * What an execution did, as `TaskCompleted`/`TaskFailed` carry it for the classifier's training examples: lines only
 * when the executor measured a diff (a command's changed-file list alone says nothing about lines).
 */
export function taskOutcome(
  result: Partial<ExecutionSuccess>,
  work: { filesChanged?: number | undefined; toolCalls?: number | undefined },
  tokens: number,
): TaskOutcome {
  return {
    filesChanged: work.filesChanged ?? 0,
    linesChanged: result.diffStats ? result.diffStats.additions + result.diffStats.deletions : null,
    toolCalls: work.toolCalls ?? 0,
    tokens: Math.max(0, Math.round(tokens)),
  };
}
