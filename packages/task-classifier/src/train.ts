import type { TaskComplexity, TaskType } from '@cap/events';
import type { Example } from './examples.js';
import {
  DEFAULT_VOCABULARY,
  featureCount,
  fitFeatures,
  termIndex,
  vectorize,
  type FeatureSpec,
  type VocabularyOptions,
} from './features.js';
import { prepareText } from './input.js';
import { COMPLEXITY_LABELS, complexityOf, TYPE_LABELS } from './labels.js';
import { trainHead, type LinearHead } from './softmaxRegression.js';

/**
 * A task that ran, as the platform records it: its text and the real size of the change it produced.
 * Complexity is derived with the same definition as the corpus (`complexityOf`).
 */
export interface OutcomeExample {
  title: string;
  description: string;
  filesChanged: number;
  linesChanged: number;
  /** The type, when someone confirmed or corrected it; otherwise the example trains only complexity. */
  type?: TaskType;
  /** Where it came from, for grouping in evaluation; default `outcomes`. */
  group?: string;
}

/** Per-head hyper-parameters. */
export interface HeadOptions {
  l2: number;
  classWeightPower: number;
}

/** Training hyper-parameters; anything left out of `train`'s `options` takes {@link DEFAULT_TRAIN_OPTIONS}. */
export interface TrainOptions {
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  type: HeadOptions;
  complexity: HeadOptions;
  vocabulary: VocabularyOptions;
  /** Version string stored in the model; default derived from the date and the seed. */
  version?: string;
}

/** Defaults; the training command overrides the heads' L2 and class weighting with the validation sweep's choice. */
export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 42,
  epochs: 10,
  batchSize: 64,
  learningRate: 0.01,
  type: { l2: 1e-5, classWeightPower: 0.5 },
  complexity: { l2: 1e-5, classWeightPower: 0.5 },
  vocabulary: DEFAULT_VOCABULARY,
};

/** A trained classifier: the feature spec and one linear head per question. Plain data, structured-cloneable. */
export interface TrainedModel {
  version: string;
  createdAt: string;
  features: FeatureSpec;
  labels: { type: TaskType[]; complexity: TaskComplexity[] };
  heads: { type: LinearHead; complexity: LinearHead };
  options: TrainOptions;
  trainedOn: { examples: number; typeLabelled: number; complexityLabelled: number };
}

/** Progress of a training run, for logs and progress bars. */
export interface TrainProgress {
  phase: 'features' | 'type' | 'complexity';
  epoch?: number;
  epochs?: number;
  loss?: number;
}

/** Turns an outcome into a labelled example with the corpus's complexity definition. */
export function outcomeToExample(outcome: OutcomeExample): Example {
  const example: Example = {
    title: outcome.title,
    description: outcome.description,
    complexity: complexityOf({ files: outcome.filesChanged, lines: outcome.linesChanged }),
    group: outcome.group ?? 'outcomes',
  };
  if (outcome.type) example.type = outcome.type;
  return example;
}

function isOutcome(example: Example | OutcomeExample): example is OutcomeExample {
  return typeof (example as OutcomeExample).filesChanged === 'number';
}

/**
 * Trains both heads on labelled examples (corpus examples and outcome examples may be mixed). Pure and
 * synchronous: no I/O, plain data in and out, so it runs in a worker thread as well as in-process.
 */
export function train(args: {
  examples: readonly (Example | OutcomeExample)[];
  options?: Partial<TrainOptions>;
  onProgress?: (progress: TrainProgress) => void;
}): TrainedModel {
  const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...args.options };
  const examples = args.examples.map((example) => (isOutcome(example) ? outcomeToExample(example) : example));
  if (examples.length === 0) throw new RangeError('train needs at least one example');
  const texts = examples.map((example) => prepareText(example));
  args.onProgress?.({ phase: 'features' });
  const features = fitFeatures(texts, options.vocabulary);
  const index = termIndex(features);
  const rows = texts.map((text) => vectorize(features, index, text).vector);
  const width = featureCount(features);
  const typeTargets = Int32Array.from(examples, (example) =>
    example.type ? TYPE_LABELS.indexOf(example.type) : -1,
  );
  const complexityTargets = Int32Array.from(examples, (example) =>
    example.complexity ? COMPLEXITY_LABELS.indexOf(example.complexity) : -1,
  );
  const head = (
    phase: 'type' | 'complexity',
    targets: Int32Array,
    classes: number,
    headOptions: HeadOptions,
  ) =>
    trainHead(
      rows,
      targets,
      width,
      classes,
      {
        ...headOptions,
        epochs: options.epochs,
        batchSize: options.batchSize,
        learningRate: options.learningRate,
        seed: options.seed,
      },
      (epoch, loss) => args.onProgress?.({ phase, epoch: epoch + 1, epochs: options.epochs, loss }),
    );
  const createdAt = new Date().toISOString();
  return {
    version: options.version ?? `task-classifier-${createdAt.slice(0, 10)}-s${options.seed}`,
    createdAt,
    features,
    labels: { type: [...TYPE_LABELS], complexity: [...COMPLEXITY_LABELS] },
    heads: {
      type: head('type', typeTargets, TYPE_LABELS.length, options.type),
      complexity: head('complexity', complexityTargets, COMPLEXITY_LABELS.length, options.complexity),
    },
    options,
    trainedOn: {
      examples: examples.length,
      typeLabelled: typeTargets.filter((target) => target >= 0).length,
      complexityLabelled: complexityTargets.filter((target) => target >= 0).length,
    },
  };
}
