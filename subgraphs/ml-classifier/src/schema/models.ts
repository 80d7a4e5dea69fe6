import { policyDirectives, principalUserId } from '@cap/runtime';
import { connectionPage } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { activateModel, evaluationOf, rollbackModel, type EvaluationSummary } from '../domain/models.js';
import { listModels, modelCursor, MODELS_PAGE, parseId } from '../domain/queries.js';
import { ModelSourceEnum } from './enums.js';
import { ClassifierModelRef } from './refs.js';

const ModelEvaluationRef = builder.objectRef<EvaluationSummary>('ClassifierEvaluation').implement({
  description:
    'How a model version scored on the test set it was judged on (null: no example for that head).',
  fields: (t) => ({
    testSet: t.exposeString('testSet', { description: 'Which test set.' }),
    typeAccuracy: t.exposeFloat('typeAccuracy', { nullable: true, description: 'Type accuracy, 0..1.' }),
    typeMacroF1: t.exposeFloat('typeMacroF1', { nullable: true, description: 'Type macro-F1, 0..1.' }),
    typeExamples: t.exposeInt('typeExamples', { description: 'Examples labelled with a type.' }),
    complexityAccuracy: t.exposeFloat('complexityAccuracy', {
      nullable: true,
      description: 'Complexity accuracy, 0..1.',
    }),
    complexityMacroF1: t.exposeFloat('complexityMacroF1', {
      nullable: true,
      description: 'Complexity macro-F1, 0..1.',
    }),
    complexityExamples: t.exposeInt('complexityExamples', {
      description: 'Examples labelled with a complexity.',
    }),
  }),
});

ClassifierModelRef.implement({
  description: 'One version of the task classifier: an ONNX model with its metadata and evaluation.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    version: t.exposeString('version', { description: 'Version name (date and seed or training).' }),
    source: t.field({
      type: ModelSourceEnum,
      description: 'Committed or retrained.',
      resolve: (m) => m.source,
    }),
    active: t.exposeBoolean('active', { description: 'Whether this version classifies tasks now.' }),
    sha256: t.exposeString('sha256', { description: 'sha256 of the ONNX file, hex.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the version was stored.' }),
    activatedAt: t.expose('activatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last activated.',
    }),
    trainingId: t.exposeID('trainingId', { nullable: true, description: 'The retrain that produced it.' }),
    evaluation: t.field({
      type: ModelEvaluationRef,
      nullable: true,
      description: 'Headline evaluation on its held-out test set.',
      resolve: (m) => evaluationOf(m.metrics),
    }),
    metrics: t.field({
      type: 'JSON',
      description: 'The whole evaluation: every predictor side by side, confusion matrices, the comparison.',
      resolve: (m) => m.metrics,
    }),
  }),
});

builder.queryFields((t) => ({
  classifierModels: t.connection(
    {
      type: ClassifierModelRef,
      description: `Classifier model versions, newest first, with their metrics and which is active (at most ${MODELS_PAGE.max} per page).`,
      directives: {
        ...policyDirectives.requiresScopes('tasks:read'),
        ...policyDirectives.connectionSize(MODELS_PAGE.default),
      },
      resolve: async (_root, args, ctx) => {
        const page = await listModels(ctx.deps, args);
        return connectionPage(page.items, {
          hasNextPage: page.hasNextPage,
          after: args.after,
          cursor: (node) => modelCursor.encode({ at: node.createdAt, id: node.id }),
        });
      },
    },
    { name: 'ClassifierModelConnection', description: 'A page of classifier model versions.' },
    { name: 'ClassifierModelEdge', description: 'A model version in a page.' },
  ),
}));

builder.mutationFields((t) => ({
  activateModel: t.field({
    type: ClassifierModelRef,
    description: 'Makes a model version the active one (admins); NOT_FOUND when there is no such version.',
    directives: { ...policyDirectives.requiresScopes('users:manage'), ...policyDirectives.cost(20) },
    args: { id: t.arg.id({ required: true, description: 'The version to activate.' }) },
    resolve: (_root, args, ctx) =>
      activateModel(ctx.deps, {
        modelId: parseId(String(args.id)),
        activatedBy: principalUserId(ctx.principal),
      }),
  }),
  rollbackModel: t.field({
    type: ClassifierModelRef,
    description:
      'Activates the version that was active before the current one (admins); CONFLICT when there was none.',
    directives: { ...policyDirectives.requiresScopes('users:manage'), ...policyDirectives.cost(20) },
    resolve: (_root, _args, ctx) =>
      rollbackModel(ctx.deps, {
        activatedBy: principalUserId(ctx.principal),
      }),
  }),
}));
