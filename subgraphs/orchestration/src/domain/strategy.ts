import type { ExecutionStrategy, StrategySource, TaskComplexity } from '../generated/prisma/client.js';

/** The strategy each complexity gets: single-shot for simple tasks, iterative for medium, multi-agent for complex. */
export const STRATEGY_BY_COMPLEXITY: Readonly<Record<TaskComplexity, ExecutionStrategy>> = {
  SIMPLE: 'SINGLE_SHOT',
  MEDIUM: 'ITERATIVE',
  COMPLEX: 'MULTI_AGENT',
};

/** A chosen strategy and why it was chosen. */
export interface StrategyChoice {
  strategy: ExecutionStrategy;
  source: StrategySource;
}

/**
 * Picks a task's strategy: the creator's override wins; otherwise the classification's complexity decides; with
 * neither (no classification in time, or the classifier is down) the configured default applies.
 */
export function selectStrategy(input: {
  override: ExecutionStrategy | null;
  complexity: TaskComplexity | null;
  defaultStrategy: ExecutionStrategy;
}): StrategyChoice {
  if (input.override) return { strategy: input.override, source: 'OVERRIDE' };
  if (input.complexity)
    return { strategy: STRATEGY_BY_COMPLEXITY[input.complexity], source: 'CLASSIFICATION' };
  return { strategy: input.defaultStrategy, source: 'DEFAULT' };
}
