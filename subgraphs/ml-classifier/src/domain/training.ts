import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { codedError, ErrorCode } from '@cap/runtime';
import {
  DEFAULT_HEURISTIC_THRESHOLD,
  MODEL_FILES,
  saveModel,
  selectionScore,
  type Evaluation,
  type ModelMetadata,
} from '@cap/task-classifier';
import type { ClassifierTraining, Prisma } from '../generated/prisma/client.js';
import { outcomeKey } from '../training/heldOut.js';
import {
  servedPredictor,
  type KeyedExample,
  type TrainJob,
  type TrainJobResult,
} from '../training/trainJob.js';
import { inTransaction, type MlClassifierDeps } from './deps.js';
import { activateInTx, loadActiveModel } from './models.js';

/** Serialises the start of retrains across instances. */
const TRAINING_LOCK = "SELECT pg_advisory_xact_lock(hashtext('ml_classifier.training'))";
/** A retrain RUNNING for longer than this lost its instance (crash, kill): it no longer blocks a new one. */
export const TRAINING_STALE_MS = 3_600_000;
/** Newest outcome examples a retrain reads at most. */
export const MAX_OUTCOME_EXAMPLES = 50_000;

/**
 * The score a version is judged by on a held-out set: per head that has examples, the mean of accuracy and
 * macro-F1 (so a head cannot win by ignoring small classes), summed.
 */
export function heldOutScore(evaluation: Evaluation): number {
  let score = 0;
  if (evaluation.type.examples > 0) score += selectionScore(evaluation.type);
  if (evaluation.complexity.examples > 0) score += selectionScore(evaluation.complexity);
  return score;
}

/**
 * Queues a retrain (ADMIN) and starts it in the background on this instance; returns at once with the
 * QUEUED training, whose `status`/`progress` move as it runs.
 * @throws CONFLICT when a retrain is already queued or running (`extensions.trainingId`)
 */
export async function startTraining(
  deps: MlClassifierDeps,
  input: {
    requestedBy: string | null;
    epochs?: number | null | undefined;
    /** Default true: run it in the background here; false: the caller runs it (`runTraining`, the CLI). */
    background?: boolean;
  },
): Promise<ClassifierTraining> {
  if (input.epochs != null && (!Number.isInteger(input.epochs) || input.epochs < 1 || input.epochs > 100)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'epochs must be an integer between 1 and 100.', {
      field: 'epochs',
      expected: '1-100',
      received: String(input.epochs),
    });
  }
  const training = await inTransaction(deps, async ({ tx }) => {
    await tx.$executeRawUnsafe(TRAINING_LOCK);
    await tx.classifierTraining.updateMany({
      where: { status: 'RUNNING', startedAt: { lt: new Date(Date.now() - TRAINING_STALE_MS) } },
      data: { status: 'FAILED', error: 'lost: its instance stopped while it ran', finishedAt: new Date() },
    });
    const busy = await tx.classifierTraining.findFirst({
      where: { status: { in: ['QUEUED', 'RUNNING'] } },
      select: { id: true },
    });
    if (busy)
      throw codedError(ErrorCode.CONFLICT, 'A retrain is already in progress.', {
        reason: 'TRAINING_IN_PROGRESS',
        trainingId: busy.id,
      });
    return tx.classifierTraining.create({ data: { requestedBy: input.requestedBy } });
  });
  if (input.background !== false)
    deps.trainer.track(
      runTraining(deps, training.id, { epochs: input.epochs ?? deps.settings.training.epochs }),
    );
  return training;
}

/** Runs a queued retrain to its end; never throws (a failure is recorded on the training). */
export async function runTraining(
  deps: MlClassifierDeps,
  trainingId: string,
  options: { epochs: number },
): Promise<ClassifierTraining> {
  try {
    return await train(deps, trainingId, options);
  } catch (error) {
    deps.logger.error({ err: error, trainingId }, 'retrain failed');
    return deps.prisma.classifierTraining.update({
      where: { id: trainingId },
      data: {
        status: 'FAILED',
        phase: 'failed',
        error: (error instanceof Error ? error.message : String(error)).slice(0, 2_000),
        finishedAt: new Date(),
      },
    });
  }
}

async function train(
  deps: MlClassifierDeps,
  trainingId: string,
  options: { epochs: number },
): Promise<ClassifierTraining> {
  const { training: settings } = deps.settings;
  await deps.prisma.classifierTraining.update({
    where: { id: trainingId },
    data: { status: 'RUNNING', phase: 'corpus', progress: 0.01, startedAt: new Date() },
  });
  const active = await deps.prisma.classifierModel.findFirst({ where: { active: true } });
  if (!active) throw new Error('no active model to compare with');
  const activeMetadata = active.metadata as unknown as ModelMetadata;
  const outcomes = await deps.prisma.outcomeExample.findMany({
    where: { complexity: { not: null } },
    orderBy: { recordedAt: 'desc' },
    take: MAX_OUTCOME_EXAMPLES,
  });
  const threshold =
    deps.settings.heuristicThreshold ?? activeMetadata.heuristicThreshold ?? DEFAULT_HEURISTIC_THRESHOLD;
  const createdAt = new Date().toISOString();
  const job: TrainJob = {
    outcomes: outcomes.map(
      (outcome): KeyedExample => ({
        key: outcomeKey(outcome.taskId),
        title: outcome.title,
        description: outcome.description,
        complexity: outcome.complexity ?? undefined,
        group: 'outcomes',
      }),
    ),
    corpus: {
      nodeModules: settings.nodeModules,
      gitSources: settings.gitSources,
      maxPerRepo: settings.maxPerRepo,
    },
    heldOutPercent: settings.heldOutPercent,
    options: {
      ...activeMetadata.options,
      epochs: options.epochs,
      version: `task-classifier-${createdAt.replace(/[:.]/g, '-')}-${trainingId.slice(0, 8)}`,
    },
    active: { version: active.version, onnx: new Uint8Array(active.onnx), metadata: activeMetadata },
    mode: deps.settings.mode,
    threshold,
  };

  let last = { phase: '', progress: 0 };
  let writes = Promise.resolve();
  const result = await deps.trainer.run(job, (progress) => {
    // Written on a phase change or every 5 %, one write at a time.
    if (progress.phase === last.phase && progress.progress - last.progress < 0.05) return;
    last = progress;
    writes = writes
      .then(async () => {
        await deps.prisma.classifierTraining.update({
          where: { id: trainingId },
          data: { phase: progress.phase, progress: Math.min(0.99, progress.progress) },
        });
      })
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not record retrain progress'));
  });
  await writes;
  return finish(deps, { trainingId, result, activeId: active.id, activeVersion: active.version, threshold });
}

async function finish(
  deps: MlClassifierDeps,
  input: {
    trainingId: string;
    result: TrainJobResult;
    activeId: string;
    activeVersion: string;
    threshold: number;
  },
): Promise<ClassifierTraining> {
  const { result, trainingId } = input;
  const served = servedPredictor(deps.settings.mode);
  const candidate = result.candidate[served] as Evaluation;
  const candidateScore = heldOutScore(candidate);
  const activeScore = heldOutScore(result.active);
  // Judged only when the held-out set has labels for both heads and the candidate learnt both: a candidate whose
  // complexity head never saw a label (a corpus of changelogs alone) must not replace one that did.
  const judgeable = candidate.type.examples > 0 && candidate.complexity.examples > 0;
  const trainedBoth =
    result.model.trainedOn.typeLabelled > 0 && result.model.trainedOn.complexityLabelled > 0;
  const better = judgeable && trainedBoth && candidateScore > activeScore;
  const comparison = {
    predictor: served,
    heldOutExamples: result.counts.heldOut,
    candidate: { version: result.model.version, score: candidateScore, ...summary(candidate) },
    active: { version: input.activeVersion, score: activeScore, ...summary(result.active) },
  };
  const dir = join(deps.settings.modelCacheDir, `training-${trainingId}`);
  let metadata: ModelMetadata;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    metadata = await saveModel(dir, result.model, {
      heuristicThreshold: input.threshold,
      provenance: {
        trainingId,
        sources: result.sources,
        counts: result.counts,
        heldOut: `sha256 of each example's key, ${deps.settings.training.heldOutPercent}% held out`,
      },
      metrics: { heldOut: { candidate, predictors: result.candidate, active: result.active, comparison } },
    });
    bytes = new Uint8Array(await readFile(join(dir, MODEL_FILES.onnx)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const decision = better
    ? `activated: held-out score ${candidateScore.toFixed(4)} > ${activeScore.toFixed(4)} of ${input.activeVersion}`
    : !trainedBoth
      ? 'not activated: the training examples had no labels for one of the heads (type or complexity)'
      : !judgeable
        ? 'not activated: the held-out examples have no labels for one of the heads (type or complexity)'
        : `not activated: held-out score ${candidateScore.toFixed(4)} <= ${activeScore.toFixed(4)} of ${input.activeVersion}`;
  const training = await inTransaction(deps, async ({ tx }) => {
    const model = await tx.classifierModel.create({
      data: {
        version: metadata.version,
        source: 'TRAINED',
        onnx: bytes,
        sha256: metadata.onnx.sha256,
        metadata: metadata as unknown as Prisma.InputJsonValue,
        metrics: metadata.metrics as Prisma.InputJsonValue,
        trainingId,
      },
    });
    let activated = false;
    let finalDecision = decision;
    if (better) {
      // Only if the model it beat is still the active one: an admin may have activated another meanwhile.
      const current = await tx.classifierModel.findFirst({ where: { active: true }, select: { id: true } });
      if (current?.id === input.activeId) {
        await activateInTx(tx, model.id, { activatedBy: null, reason: `retrain ${trainingId}: ${decision}` });
        activated = true;
      } else {
        finalDecision = `not activated: the active model changed during the retrain (${decision})`;
      }
    }
    return tx.classifierTraining.update({
      where: { id: trainingId },
      data: {
        status: 'SUCCEEDED',
        phase: 'done',
        progress: 1,
        modelId: model.id,
        activated,
        decision: finalDecision,
        comparison: comparison as Prisma.InputJsonValue,
        outcomeExamples: result.counts.outcomes,
        corpusExamples: result.counts.corpus,
        heldOutExamples: result.counts.heldOut,
        finishedAt: new Date(),
      },
    });
  });
  if (training.activated) await loadActiveModel(deps);
  deps.logger.info({ trainingId, decision: training.decision }, 'retrain finished');
  return training;
}

function summary(evaluation: Evaluation) {
  return {
    typeAccuracy: evaluation.type.accuracy,
    typeMacroF1: evaluation.type.macroF1,
    typeExamples: evaluation.type.examples,
    complexityAccuracy: evaluation.complexity.accuracy,
    complexityMacroF1: evaluation.complexity.macroF1,
    complexityExamples: evaluation.complexity.examples,
  };
}
