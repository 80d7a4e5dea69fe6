import type { ClassifierTraining } from '../generated/prisma/client.js';
import { builder } from '../builder.js';
import type { ModelSummary } from '../domain/models.js';

/** `ClassifierModel`. Refs are declared apart from their implementations, which refer to each other. */
export const ClassifierModelRef = builder.objectRef<ModelSummary>('ClassifierModel');
/** `ClassifierTraining`. */
export const ClassifierTrainingRef = builder.objectRef<ClassifierTraining>('ClassifierTraining');
