import type { TaskComplexity, TaskType } from './orchestration.js';

/**
 * A GraphQL enum declared once for every subgraph that exposes it: federation merges an enum that two subgraphs
 * declare only when the values and descriptions are identical, so both register it from this one definition
 * (`builder.enumType(definition.name, { description: definition.description, values: definition.values })`).
 */
export interface SharedGraphQLEnum<Value extends string> {
  name: string;
  description: string;
  values: { readonly [V in Value]: { readonly description: string } };
}

/** The GraphQL enum `TaskType` (orchestration and ml-classifier); its values are the event contracts' TaskType. */
export const TASK_TYPE_ENUM = {
  name: 'TaskType',
  description: 'What kind of change a task asks for, as the classifier labels it.',
  values: {
    BUG_FIX: { description: 'Fix a defect.' },
    FEATURE: { description: 'Add a capability.' },
    REFACTOR: { description: 'Restructure without changing behaviour.' },
    TEST: { description: 'Add or fix tests.' },
    DOCUMENTATION: { description: 'Write or fix documentation.' },
    CHORE: { description: 'Maintenance: dependencies, build, configuration.' },
    OTHER: { description: 'None of the above.' },
  },
} as const satisfies SharedGraphQLEnum<TaskType>;

/** The GraphQL enum `TaskComplexity` (orchestration and ml-classifier); its values are TaskComplexity's. */
export const TASK_COMPLEXITY_ENUM = {
  name: 'TaskComplexity',
  description: 'How hard the classifier judges a task; selects the execution strategy.',
  values: {
    SIMPLE: { description: 'Selects SINGLE_SHOT.' },
    MEDIUM: { description: 'Selects ITERATIVE.' },
    COMPLEX: { description: 'Selects MULTI_AGENT.' },
  },
} as const satisfies SharedGraphQLEnum<TaskComplexity>;
