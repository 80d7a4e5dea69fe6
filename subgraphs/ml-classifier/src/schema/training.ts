import { codedError, ErrorCode, policyDirectives, principalUserId } from '@cap/runtime';
import { connectionPage } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { listTrainings, parseId, trainingCursor, TRAININGS_PAGE } from '../domain/queries.js';
import { startTraining } from '../domain/training.js';
import { TrainingStatusEnum } from './enums.js';
import { ClassifierModelRef, ClassifierTrainingRef } from './refs.js';
import { MODEL_SUMMARY } from '../domain/models.js';

ClassifierTrainingRef.implement({
  description:
    'A retrain of the classifier from the stored outcome examples and the corpus, run off the request path.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    status: t.field({ type: TrainingStatusEnum, description: 'Where it is.', resolve: (r) => r.status }),
    phase: t.exposeString('phase', {
      description: '`queued`, `corpus`, `features`, `type`, `complexity`, `evaluate`, `done` or `failed`.',
    }),
    progress: t.exposeFloat('progress', { description: '0..1.' }),
    outcomeExamples: t.exposeInt('outcomeExamples', { description: 'Outcome examples read.' }),
    corpusExamples: t.exposeInt('corpusExamples', { description: 'Corpus examples read (changelogs, git).' }),
    heldOutExamples: t.exposeInt('heldOutExamples', {
      description: 'Examples held out; the new and the active version were both evaluated on them.',
    }),
    activated: t.exposeBoolean('activated', {
      description: 'Whether the new version replaced the active one (only when better on the held-out set).',
    }),
    decision: t.exposeString('decision', { nullable: true, description: 'Why it was (not) activated.' }),
    comparison: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The new and the active version side by side on the held-out set.',
      resolve: (r) => r.comparison,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    model: t.field({
      type: ClassifierModelRef,
      nullable: true,
      description: 'The version it produced.',
      resolve: (r, _args, ctx) =>
        r.modelId
          ? ctx.deps.prisma.classifierModel.findUnique({ where: { id: r.modelId }, select: MODEL_SUMMARY })
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was requested.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it started.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
  }),
});

builder.queryFields((t) => ({
  classifierTraining: t.field({
    type: ClassifierTrainingRef,
    description: 'One retrain and its progress (admins); NOT_FOUND when there is none.',
    directives: policyDirectives.requiresScopes('users:manage'),
    args: { id: t.arg.id({ required: true, description: 'The retrain.' }) },
    resolve: async (_root, args, ctx) => {
      const id = parseId(String(args.id));
      const training = await ctx.deps.prisma.classifierTraining.findUnique({ where: { id } });
      if (!training) throw codedError(ErrorCode.NOT_FOUND, 'No retrain with this id.', { id });
      return training;
    },
  }),
  classifierTrainings: t.connection(
    {
      type: ClassifierTrainingRef,
      description: `Retrains, newest first (admins; at most ${TRAININGS_PAGE.max} per page).`,
      directives: {
        ...policyDirectives.requiresScopes('users:manage'),
        ...policyDirectives.connectionSize(TRAININGS_PAGE.default),
      },
      resolve: async (_root, args, ctx) => {
        const page = await listTrainings(ctx.deps, args);
        return connectionPage(page.items, {
          hasNextPage: page.hasNextPage,
          after: args.after,
          cursor: (node) => trainingCursor.encode({ at: node.createdAt, id: node.id }),
        });
      },
    },
    { name: 'ClassifierTrainingConnection', description: 'A page of retrains.' },
    { name: 'ClassifierTrainingEdge', description: 'A retrain in a page.' },
  ),
}));

builder.mutationFields((t) => ({
  trainClassifier: t.field({
    type: ClassifierTrainingRef,
    description:
      'Starts a retrain from the stored outcome examples and the corpus (admins), in a worker thread; returns at once. The new version is activated only if it beats the active one on the same held-out set. CONFLICT while another retrain runs.',
    directives: { ...policyDirectives.requiresScopes('users:manage'), ...policyDirectives.cost(100) },
    args: {
      epochs: t.arg.int({
        required: false,
        description: 'Training epochs, 1-100 (default: the configured).',
      }),
    },
    resolve: (_root, args, ctx) =>
      startTraining(ctx.deps, {
        requestedBy: principalUserId(ctx.principal),
        epochs: args.epochs,
      }),
  }),
}));
