import { policyDirectives } from '@cap/runtime';
import type { Classification } from '@cap/task-classifier';
import { builder } from '../builder.js';
import { classifyText } from '../domain/classifications.js';
import type { TaskClassification } from '../generated/prisma/client.js';
import { DecidedByEnum, TaskComplexityEnum, TaskTypeEnum } from './enums.js';

/** What `TaskClassification` resolves from: a stored row's fields, or a preview. */
interface ClassificationShape {
  result: Classification;
  classifiedAt: Date | null;
}

function fromRow(row: TaskClassification): ClassificationShape {
  const probabilities = row.probabilities as {
    type: Classification['type']['probabilities'];
    complexity: Classification['complexity']['probabilities'];
  };
  return {
    classifiedAt: row.classifiedAt,
    result: {
      type: {
        label: row.type,
        confidence: row.typeConfidence,
        decidedBy: row.typeDecidedBy,
        probabilities: probabilities.type,
      },
      complexity: {
        label: row.complexity,
        confidence: row.complexityConfidence,
        decidedBy: row.complexityDecidedBy,
        probabilities: probabilities.complexity,
      },
      modelVersion: row.modelVersion,
    },
  };
}

const LabelProbabilityRef = builder
  .objectRef<{ label: string; probability: number }>('LabelProbability')
  .implement({
    description: 'The probability the classifier gives one label.',
    fields: (t) => ({
      label: t.exposeString('label', { description: 'The label (a TaskType or TaskComplexity value).' }),
      probability: t.exposeFloat('probability', { description: '0..1.' }),
    }),
  });

const probabilities = (values: Record<string, number>) =>
  Object.entries(values).map(([label, probability]) => ({ label, probability }));

const TaskClassificationRef = builder.objectRef<ClassificationShape>('TaskClassification').implement({
  description: "The classifier's type and complexity of a task, with confidences and which path decided.",
  fields: (t) => ({
    type: t.field({
      type: TaskTypeEnum,
      description: 'What kind of change.',
      resolve: (c) => c.result.type.label,
    }),
    typeConfidence: t.float({
      description: 'Confidence in `type`, 0..1.',
      resolve: (c) => c.result.type.confidence,
    }),
    typeDecidedBy: t.field({
      type: DecidedByEnum,
      description: 'Which path decided `type`.',
      resolve: (c) => c.result.type.decidedBy,
    }),
    typeProbabilities: t.field({
      type: [LabelProbabilityRef],
      description: 'Probability of every type.',
      resolve: (c) => probabilities(c.result.type.probabilities),
    }),
    complexity: t.field({
      type: TaskComplexityEnum,
      description:
        'Size of the change: SIMPLE (1 file, ≤ 20 lines), MEDIUM (≤ 5 files, ≤ 200 lines), COMPLEX.',
      resolve: (c) => c.result.complexity.label,
    }),
    complexityConfidence: t.float({
      description: 'Confidence in `complexity`, 0..1.',
      resolve: (c) => c.result.complexity.confidence,
    }),
    complexityDecidedBy: t.field({
      type: DecidedByEnum,
      description: 'Which path decided `complexity`.',
      resolve: (c) => c.result.complexity.decidedBy,
    }),
    complexityProbabilities: t.field({
      type: [LabelProbabilityRef],
      description: 'Probability of every complexity.',
      resolve: (c) => probabilities(c.result.complexity.probabilities),
    }),
    modelVersion: t.string({
      description: 'The model version that answered.',
      resolve: (c) => c.result.modelVersion,
    }),
    classifiedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the task was classified; null for a preview (`classifyTask`).',
      resolve: (c) => c.classifiedAt,
    }),
  }),
});

/**
 * Orchestration's `CodingTask`, resolvable here by id: the classifier adds its classification, read from its
 * own table.
 */
const CodingTaskRef = builder.objectRef<{ id: string }>('CodingTask').implement({
  // Orchestration's wording: composition keeps one description per type.
  description: 'A unit of work for the coding agent: what to do, where, and how far it got.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    classification: t.field({
      type: TaskClassificationRef,
      nullable: true,
      description: "The ML classifier's classification of the task; null until it classified it.",
      directives: policyDirectives.requiresScopes('tasks:read'),
      resolve: async (task, _args, ctx) => {
        const row = await ctx.loaders.classification.load(task.id);
        return row ? fromRow(row) : null;
      },
    }),
  }),
});

builder.asEntity(CodingTaskRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference) => ({ id: reference.id }),
});

const ClassifyTaskInput = builder.inputType('ClassifyTaskInput', {
  description: 'The text of a task to classify (nothing is stored).',
  fields: (t) => ({
    title: t.string({ required: true, description: 'Title, at most 2,000 characters (may be empty).' }),
    description: t.string({ required: false, description: 'Description, at most 100,000 characters.' }),
  }),
});

builder.queryFields((t) => ({
  classifyTask: t.field({
    type: TaskClassificationRef,
    description:
      'Previews how the active model classifies a task text (`tasks:read`); BAD_USER_INPUT when the text is too long.',
    directives: { ...policyDirectives.requiresScopes('tasks:read'), ...policyDirectives.cost(5) },
    args: {
      input: t.arg({ type: ClassifyTaskInput, required: true, description: 'Title and description.' }),
    },
    resolve: async (_root, { input }, ctx) => ({
      result: await classifyText(ctx.deps, { title: input.title, description: input.description ?? '' }),
      classifiedAt: null,
    }),
  }),
}));
