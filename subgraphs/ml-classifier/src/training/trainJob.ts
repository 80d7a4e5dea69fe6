import {
  compare,
  modelFromFiles,
  predictors,
  readChangelogs,
  readGitCommits,
  train,
  type ClassifierMode,
  type Evaluation,
  type Example,
  type ModelMetadata,
  type TrainedModel,
  type TrainOptions,
} from '@cap/task-classifier';
import { isHeldOut } from './heldOut.js';

/** An example with the stable key that decides whether it is held out. */
export interface KeyedExample extends Example {
  key: string;
}

/** Everything a retrain needs, plain data (it crosses into a worker thread). */
export interface TrainJob {
  /** Outcome examples from the database. */
  outcomes: KeyedExample[];
  corpus: {
    nodeModules: string | null;
    gitSources: { repo: string; gitDir: string; head?: string }[];
    maxPerRepo: number;
  };
  heldOutPercent: number;
  options: Partial<TrainOptions>;
  /** The model the candidate must beat, evaluated on the same held-out examples. */
  active: { version: string; onnx: Uint8Array; metadata: ModelMetadata };
  mode: ClassifierMode;
  threshold: number;
}

/** Progress of a retrain: phase and 0..1. */
export interface JobProgress {
  phase: string;
  progress: number;
}

/** What a retrain produced. */
export interface TrainJobResult {
  model: TrainedModel;
  /** Every predictor of the candidate on the held-out examples (model, heuristic, hybrid, majority). */
  candidate: Record<string, Evaluation>;
  /** The active model, as served (its mode), on the same examples. */
  active: Evaluation;
  counts: { outcomes: number; corpus: number; train: number; heldOut: number };
  sources: { name: string; examples: number }[];
}

const PREDICTOR_OF_MODE: Record<ClassifierMode, string> = {
  HYBRID: 'hybrid',
  MODEL: 'model',
  HEURISTIC: 'heuristic',
};

/**
 * Reads the corpus, splits every example by its stable key into training and held-out, trains, and evaluates
 * the candidate and the active model on the same held-out examples. CPU-bound: runs in a worker thread.
 */
export async function runTrainJob(
  job: TrainJob,
  onProgress: (progress: JobProgress) => void,
): Promise<TrainJobResult> {
  onProgress({ phase: 'corpus', progress: 0.02 });
  const sources: TrainJobResult['sources'] = [{ name: 'outcomes', examples: job.outcomes.length }];
  const corpus: KeyedExample[] = [];
  for (const source of job.corpus.gitSources) {
    const result = await readGitCommits(source, {
      maxExamples: job.corpus.maxPerRepo,
      maxCommits: job.corpus.maxPerRepo * 5,
      maxBotShare: 0.1,
    });
    sources.push({ name: `git:${source.repo}@${result.head}`, examples: result.examples.length });
    for (const example of result.examples)
      corpus.push({ ...example, key: `${example.group}#${example.ref}` });
  }
  if (job.corpus.nodeModules) {
    const excluded = new Set(job.corpus.gitSources.map((source) => source.repo.toLowerCase()));
    for (const changelog of await readChangelogs(job.corpus.nodeModules, excluded)) {
      sources.push({
        name: `changelog:${changelog.pkg}@${changelog.version ?? '?'}`,
        examples: changelog.examples.length,
      });
      for (const example of changelog.examples)
        corpus.push({ ...example, key: `${example.group}#${example.ref}` });
    }
  }
  const all = [...job.outcomes, ...corpus];
  const trainSet: Example[] = [];
  const heldOut: Example[] = [];
  for (const { key, ...example } of all)
    (isHeldOut(key, job.heldOutPercent) ? heldOut : trainSet).push(example);
  if (trainSet.length === 0)
    throw new RangeError('no training examples: every example is held out or there are none');

  const epochs = job.options.epochs ?? 10;
  const model = train({
    examples: trainSet,
    options: job.options,
    onProgress: (progress) => {
      const done = (progress.epoch ?? 0) / epochs;
      const [from, to] =
        progress.phase === 'features' ? [0.1, 0.1] : progress.phase === 'type' ? [0.1, 0.5] : [0.5, 0.9];
      onProgress({ phase: progress.phase, progress: from + (to - from) * done });
    },
  });
  onProgress({ phase: 'evaluate', progress: 0.92 });
  const candidate = await compare(predictors(model, trainSet, job.threshold), heldOut);
  const activeModel = modelFromFiles(job.active.onnx, job.active.metadata);
  const served = PREDICTOR_OF_MODE[job.mode];
  const active = await compare(
    {
      [served]: predictors(activeModel, trainSet, job.active.metadata.heuristicThreshold ?? job.threshold)[
        served
      ]!,
    },
    heldOut,
  );
  return {
    model,
    candidate,
    active: active[served]!,
    counts: {
      outcomes: job.outcomes.length,
      corpus: corpus.length,
      train: trainSet.length,
      heldOut: heldOut.length,
    },
    sources,
  };
}

/** The predictor name that scores a version as it is served in `mode`. */
export function servedPredictor(mode: ClassifierMode): string {
  return PREDICTOR_OF_MODE[mode];
}
