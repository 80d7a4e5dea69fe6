import { TASK_COMPLEXITY_ENUM, TASK_TYPE_ENUM } from '@cap/events';
import { builder } from '../builder.js';

/**
 * The GraphQL enums `TaskType` and `TaskComplexity`, declared once in @cap/events for every subgraph that has
 * them (federation merges them only when identical).
 */
export const TaskTypeEnum = builder.enumType(TASK_TYPE_ENUM.name, TASK_TYPE_ENUM);
export const TaskComplexityEnum = builder.enumType(TASK_COMPLEXITY_ENUM.name, TASK_COMPLEXITY_ENUM);

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
