import { codedError, ErrorCode } from '@cap/runtime';
import { readModelFiles } from '@cap/task-classifier';
import type { ClassifierModel, Prisma } from '../generated/prisma/client.js';
import { inTransaction, type MlClassifierDeps, type Tx } from './deps.js';

/** Serialises seeding and activation across instances (a transaction-scoped advisory lock). */
const MODEL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('ml_classifier.models'))";

/** The columns loading and listing need: everything but the ONNX bytes. */
export const MODEL_SUMMARY = {
  id: true,
  version: true,
  source: true,
  sha256: true,
  metrics: true,
  active: true,
  trainingId: true,
  createdAt: true,
  activatedAt: true,
} satisfies Prisma.ClassifierModelSelect;

/** A model version without its bytes and metadata. */
export type ModelSummary = Prisma.ClassifierModelGetPayload<{ select: typeof MODEL_SUMMARY }>;

/**
 * Seeds the model at `modelPath` (the committed one by default) as the first version when the database has
 * none, and active. Idempotent and safe when several instances start at once.
 */
export async function seedModel(deps: MlClassifierDeps, modelPath: string): Promise<void> {
  if ((await deps.prisma.classifierModel.count()) > 0) return;
  const { bytes, metadata } = await readModelFiles(modelPath);
  await inTransaction(deps, async ({ tx }) => {
    await tx.$executeRawUnsafe(MODEL_LOCK);
    if ((await tx.classifierModel.count()) > 0) return;
    const model = await tx.classifierModel.create({
      data: {
        version: metadata.version,
        source: 'COMMITTED',
        onnx: Buffer.from(bytes),
        sha256: metadata.onnx.sha256,
        metadata: metadata as unknown as Prisma.InputJsonValue,
        metrics: metadata.metrics as Prisma.InputJsonValue,
        active: true,
        activatedAt: new Date(),
      },
    });
    await tx.modelActivation.create({ data: { modelId: model.id, reason: 'seeded at first start' } });
    deps.logger.info({ version: model.version }, 'seeded the committed classifier model');
  });
}

/** Loads the active version into onnxruntime if it is not the one loaded (start, and after activations). */
export async function loadActiveModel(deps: MlClassifierDeps): Promise<void> {
  const active = await deps.prisma.classifierModel.findFirst({
    where: { active: true },
    select: { id: true },
  });
  if (!active || active.id === deps.model.id) return;
  const model = await deps.prisma.classifierModel.findUniqueOrThrow({ where: { id: active.id } });
  await deps.model.use({ ...model, onnx: new Uint8Array(model.onnx) });
}

/** Makes `modelId` the active version inside `tx` (the caller holds no lock yet). */
export async function activateInTx(
  tx: Tx,
  modelId: string,
  activation: { activatedBy: string | null; reason: string },
): Promise<ClassifierModel | null> {
  await tx.$executeRawUnsafe(MODEL_LOCK);
  const model = await tx.classifierModel.findUnique({ where: { id: modelId }, select: { id: true } });
  if (!model) return null;
  await tx.classifierModel.updateMany({
    where: { active: true, id: { not: modelId } },
    data: { active: false },
  });
  const activated = await tx.classifierModel.update({
    where: { id: modelId },
    data: { active: true, activatedAt: new Date() },
  });
  await tx.modelActivation.create({ data: { modelId, ...activation } });
  return activated;
}

/**
 * Activates a version (ADMIN). It serves from the next classification on; other instances follow within
 * their reload interval.
 * @throws NOT_FOUND when there is no such version
 */
export async function activateModel(
  deps: MlClassifierDeps,
  input: { modelId: string; activatedBy: string | null },
): Promise<ModelSummary> {
  const activated = await inTransaction(deps, ({ tx }) =>
    activateInTx(tx, input.modelId, { activatedBy: input.activatedBy, reason: 'activated by an admin' }),
  );
  if (!activated)
    throw codedError(ErrorCode.NOT_FOUND, 'No classifier model with this id.', { id: input.modelId });
  await loadActiveModel(deps);
  return summaryOf(activated);
}

/**
 * Goes back to the version that was active before the current one (ADMIN): the activation history is walked
 * back to the newest activation of another version.
 * @throws CONFLICT when no other version was ever active
 */
export async function rollbackModel(
  deps: MlClassifierDeps,
  input: { activatedBy: string | null },
): Promise<ModelSummary> {
  const activated = await inTransaction(deps, async ({ tx }) => {
    await tx.$executeRawUnsafe(MODEL_LOCK);
    const current = await tx.classifierModel.findFirst({ where: { active: true }, select: { id: true } });
    const previous = await tx.modelActivation.findFirst({
      where: current ? { modelId: { not: current.id } } : {},
      orderBy: { id: 'desc' },
    });
    if (!previous) return null;
    return activateInTx(tx, previous.modelId, {
      activatedBy: input.activatedBy,
      reason: `rolled back from ${current?.id ?? 'none'}`,
    });
  });
  if (!activated)
    throw codedError(ErrorCode.CONFLICT, 'No earlier classifier model to roll back to.', {
      reason: 'NO_PREVIOUS_MODEL',
    });
  await loadActiveModel(deps);
  return summaryOf(activated);
}

/** The listing shape of a full row. */
export function summaryOf(model: ClassifierModel): ModelSummary {
  return {
    id: model.id,
    version: model.version,
    source: model.source,
    sha256: model.sha256,
    metrics: model.metrics,
    active: model.active,
    trainingId: model.trainingId,
    createdAt: model.createdAt,
    activatedAt: model.activatedAt,
  };
}

/** Accuracy and macro-F1 of each head on the test set a version was judged on. */
export interface EvaluationSummary {
  testSet: string;
  typeAccuracy: number | null;
  typeMacroF1: number | null;
  typeExamples: number;
  complexityAccuracy: number | null;
  complexityMacroF1: number | null;
  complexityExamples: number;
}

type HeadLike = { accuracy?: number; macroF1?: number; examples?: number } | undefined;

function fromEvaluation(
  testSet: string,
  evaluation: { type?: HeadLike; complexity?: HeadLike },
): EvaluationSummary {
  const head = (metrics: HeadLike) => ({
    examples: metrics?.examples ?? 0,
    accuracy: metrics?.examples ? (metrics.accuracy ?? null) : null,
    macroF1: metrics?.examples ? (metrics.macroF1 ?? null) : null,
  });
  const type = head(evaluation.type);
  const complexity = head(evaluation.complexity);
  return {
    testSet,
    typeAccuracy: type.accuracy,
    typeMacroF1: type.macroF1,
    typeExamples: type.examples,
    complexityAccuracy: complexity.accuracy,
    complexityMacroF1: complexity.macroF1,
    complexityExamples: complexity.examples,
  };
}

/**
 * The headline evaluation of a version: for a retrained one, its score on its training's held-out set; for the
 * committed one, the training command's held-out repositories (hybrid predictor, as served).
 */
export function evaluationOf(metrics: unknown): EvaluationSummary | null {
  type Evaluated = { type?: HeadLike; complexity?: HeadLike };
  const record = (metrics ?? {}) as {
    heldOut?: { candidate?: Evaluated };
    heldOutRepositories?: { hybrid?: Evaluated };
  };
  if (record.heldOut?.candidate)
    return fromEvaluation('held-out examples of its training', record.heldOut.candidate);
  if (record.heldOutRepositories?.hybrid)
    return fromEvaluation('held-out repositories (training command)', record.heldOutRepositories.hybrid);
  return null;
}
