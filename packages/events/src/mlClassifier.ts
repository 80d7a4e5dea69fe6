import { z } from 'zod';
import { defineEvent } from './defineEvent.js';
import { TaskComplexity, TaskType } from './orchestration.js';

/**
 * The ML classifier's events. It consumes orchestration's `TaskCreated` and answers with `TaskClassified`;
 * orchestration picks the execution strategy from the complexity.
 */

/** The classifier's topics, one per aggregate; every event's key is the task id. */
export const ClassifierTopic = {
  classification: 'ml-classifier.classification',
} as const;

export const TaskClassified = defineEvent({
  type: 'TaskClassified',
  version: 1,
  topic: ClassifierTopic.classification,
  description:
    "The classifier labelled a task's type and complexity; orchestration picks the strategy from the complexity.",
  payload: z.object({
    taskId: z.uuid(),
    type: TaskType,
    complexity: TaskComplexity,
    /** 0..1, the classifier's confidence in the complexity. */
    confidence: z.number().min(0).max(1),
    /** Which model version produced the classification. */
    modelVersion: z.string().min(1).max(200),
  }),
});

/** Every classifier contract, for the global registry. */
export const mlClassifierContracts = [TaskClassified] as const;
