import { builder } from '../builder.js';

// TaskType and TaskComplexity are orchestration's enums too: the same values and descriptions, so
// composition merges them into one.

/** The GraphQL enum `TaskType`. */
export const TaskTypeEnum = builder.enumType('TaskType', {
  description: 'What kind of change a task asks for, as the classifier labels it.',
  values: {
    BUG_FIX: { description: 'Fix a defect.' },
    FEATURE: { description: 'Add a capability.' },
    REFACTOR: { description: 'Restructure without changing behaviour.' },
    TEST: { description: 'Add or fix tests.' },
    DOCUMENTATION: { description: 'Write or fix documentation.' },
    CHORE: { description: 'Maintenance: dependencies, build, configuration.' },
    OTHER: { description: 'None of the above.' },
  } as const,
});

/** The GraphQL enum `TaskComplexity`. */
export const TaskComplexityEnum = builder.enumType('TaskComplexity', {
  description: 'How hard the classifier judges a task; selects the execution strategy.',
  values: {
    SIMPLE: { description: 'Selects SINGLE_SHOT.' },
    MEDIUM: { description: 'Selects ITERATIVE.' },
    COMPLEX: { description: 'Selects MULTI_AGENT.' },
  } as const,
});

/** Which path of the hybrid classifier decided an answer. */
export const DecidedByEnum = builder.enumType('ClassificationPath', {
  description: 'Which path of the hybrid classifier decided an answer.',
  values: {
    HEURISTIC: { description: 'The keyword heuristic was confident enough (or the text had no known word).' },
    MODEL: { description: 'The ONNX model.' },
  } as const,
});

/** Where a model version came from. */
export const ModelSourceEnum = builder.enumType('ClassifierModelSource', {
  description: 'Where a classifier model version came from.',
  values: {
    COMMITTED: { description: 'The model committed with the code, seeded at first start.' },
    TRAINED: { description: 'Retrained by `trainClassifier` or the training CLI.' },
  } as const,
});

/** State of a retrain. */
export const TrainingStatusEnum = builder.enumType('ClassifierTrainingStatus', {
  description: 'State of a classifier retrain.',
  values: {
    QUEUED: { description: 'Accepted, not started yet.' },
    RUNNING: { description: 'Reading the corpus, training or evaluating (see `phase` and `progress`).' },
    SUCCEEDED: { description: 'A new version exists; `activated` says whether it replaced the active one.' },
    FAILED: { description: 'Stopped with `error`; no version was added.' },
  } as const,
});
