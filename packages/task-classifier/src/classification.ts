import type { TaskComplexity, TaskType } from '@cap/events';
import type { TaskText } from './examples.js';
import { termIndex, vectorize, type SparseVector, type TermIndex } from './features.js';
import { heuristicComplexity, heuristicType, type HeuristicAnswer } from './heuristic.js';
import { COMPLEXITY_LABELS, TYPE_LABELS } from './labels.js';
import { predictProbabilities } from './softmaxRegression.js';
import type { TrainedModel } from './train.js';

/** Which path decided one head's answer. */
export type DecidedBy = 'HEURISTIC' | 'MODEL';

/** How a classifier combines the two paths: the hybrid lets a confident heuristic decide. */
export type ClassifierMode = 'HYBRID' | 'MODEL' | 'HEURISTIC';

/** One head's answer. When the heuristic decided, `probabilities` put its confidence on its label and share the rest. */
export interface HeadResult<L extends string> {
  label: L;
  confidence: number;
  probabilities: Record<L, number>;
  decidedBy: DecidedBy;
}

/** What the classifier says about one task. */
export interface Classification {
  type: HeadResult<TaskType>;
  complexity: HeadResult<TaskComplexity>;
  modelVersion: string;
}

/** Model probabilities of both heads for one text, in label order, and how many vocabulary terms it hit. */
export interface ModelOutput {
  type: ArrayLike<number>;
  complexity: ArrayLike<number>;
  knownTerms: number;
}

/** Default heuristic confidence at or above which the hybrid lets the heuristic decide. */
export const DEFAULT_HEURISTIC_THRESHOLD = 0.9;

function heuristicHead<L extends string>(labels: readonly L[], answer: HeuristicAnswer<L>): HeadResult<L> {
  const rest = (1 - answer.confidence) / Math.max(1, labels.length - 1);
  const probabilities = Object.fromEntries(
    labels.map((label) => [label, label === answer.label ? answer.confidence : rest]),
  ) as Record<L, number>;
  return { label: answer.label, confidence: answer.confidence, probabilities, decidedBy: 'HEURISTIC' };
}

function modelHead<L extends string>(labels: readonly L[], probabilities: ArrayLike<number>): HeadResult<L> {
  let best = 0;
  for (let c = 1; c < labels.length; c += 1)
    if ((probabilities[c] ?? 0) > (probabilities[best] ?? 0)) best = c;
  return {
    label: labels[best] as L,
    confidence: probabilities[best] ?? 0,
    probabilities: Object.fromEntries(labels.map((label, c) => [label, probabilities[c] ?? 0])) as Record<
      L,
      number
    >,
    decidedBy: 'MODEL',
  };
}

/**
 * Combines the heuristic and the model for one text. A text with no vocabulary term at all (empty,
 * another language, noise) gets the heuristic's low-confidence answer: the model has nothing to go on.
 */
export function combine(
  text: TaskText,
  output: ModelOutput | undefined,
  mode: ClassifierMode,
  threshold: number,
  modelVersion: string,
): Classification {
  const type = heuristicType(text);
  const complexity = heuristicComplexity(text);
  const useHeuristic = (answer: HeuristicAnswer<string>) =>
    mode === 'HEURISTIC' ||
    output === undefined ||
    output.knownTerms === 0 ||
    (mode === 'HYBRID' && answer.confidence >= threshold);
  const noWords = output !== undefined && output.knownTerms === 0 && mode !== 'HEURISTIC';
  return {
    type: useHeuristic(type)
      ? heuristicHead(
          TYPE_LABELS,
          noWords
            ? { label: 'OTHER', confidence: Math.min(type.confidence, 0.3), rule: 'no-known-words' }
            : type,
        )
      : modelHead(TYPE_LABELS, (output as ModelOutput).type),
    complexity: useHeuristic(complexity)
      ? heuristicHead(
          COMPLEXITY_LABELS,
          noWords
            ? { label: 'SIMPLE', confidence: Math.min(complexity.confidence, 0.3), rule: 'no-known-words' }
            : complexity,
        )
      : modelHead(COMPLEXITY_LABELS, (output as ModelOutput).complexity),
    modelVersion,
  };
}

/**
 * The model evaluated in TypeScript (double precision over the float32 parameters): the reference the
 * ONNX graph is checked against, and the benchmark's baseline.
 */
export class TypeScriptModel {
  private readonly index: TermIndex;

  constructor(readonly model: TrainedModel) {
    this.index = termIndex(model.features);
  }

  /** Feature vector of a text (already validated and prepared) and how many vocabulary terms it hit. */
  features(text: TaskText): { vector: SparseVector; knownTerms: number } {
    return vectorize(this.model.features, this.index, text);
  }

  /** Both heads' probabilities for a text (already validated and prepared). */
  predict(text: TaskText): ModelOutput {
    const { vector, knownTerms } = this.features(text);
    return {
      type: predictProbabilities(this.model.heads.type, vector),
      complexity: predictProbabilities(this.model.heads.complexity, vector),
      knownTerms,
    };
  }
}
