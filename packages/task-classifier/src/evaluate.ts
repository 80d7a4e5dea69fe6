import type { TaskComplexity, TaskType } from '@cap/events';
import type { Example, TaskText } from './examples.js';
import { COMPLEXITY_LABELS, TYPE_LABELS } from './labels.js';

/** Accuracy, macro-F1 and the confusion matrix (`confusion[actual][predicted]`, label order) of one head. */
export interface HeadMetrics {
  labels: string[];
  examples: number;
  accuracy: number;
  macroF1: number;
  /** Per-class F1 in label order (classes with no example and no prediction are left out of macro-F1). */
  f1: number[];
  confusion: number[][];
}

/** Metrics for both heads; each counts only examples labelled for that head. */
export interface Evaluation {
  type: HeadMetrics;
  complexity: HeadMetrics;
}

/** Something that answers both questions for a text: the model, the heuristic, the hybrid, a baseline. */
export type Predictor = (
  text: TaskText,
) => { type: TaskType; complexity: TaskComplexity } | Promise<{ type: TaskType; complexity: TaskComplexity }>;

/** Computes a head's metrics from pairs of (actual, predicted) class indices. */
export function headMetrics(labels: readonly string[], pairs: readonly [number, number][]): HeadMetrics {
  const confusion = labels.map(() => labels.map(() => 0));
  let correct = 0;
  for (const [actual, predicted] of pairs) {
    const row = confusion[actual];
    if (row) row[predicted] = (row[predicted] ?? 0) + 1;
    if (actual === predicted) correct += 1;
  }
  const f1 = labels.map((_, c) => {
    const truePositive = confusion[c]?.[c] ?? 0;
    const predicted = confusion.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    const actual = (confusion[c] ?? []).reduce((sum, value) => sum + value, 0);
    return predicted + actual === 0 ? Number.NaN : (2 * truePositive) / (predicted + actual);
  });
  const present = f1.filter((value) => !Number.isNaN(value));
  return {
    labels: [...labels],
    examples: pairs.length,
    accuracy: pairs.length === 0 ? 0 : correct / pairs.length,
    macroF1: present.length === 0 ? 0 : present.reduce((sum, value) => sum + value, 0) / present.length,
    f1: f1.map((value) => (Number.isNaN(value) ? 0 : value)),
    confusion,
  };
}

/** Runs a predictor over labelled examples and scores each head on the examples labelled for it. */
export async function evaluate(predict: Predictor, examples: readonly Example[]): Promise<Evaluation> {
  const typePairs: [number, number][] = [];
  const complexityPairs: [number, number][] = [];
  for (const example of examples) {
    const answer = await predict({ title: example.title, description: example.description });
    if (example.type) typePairs.push([TYPE_LABELS.indexOf(example.type), TYPE_LABELS.indexOf(answer.type)]);
    if (example.complexity) {
      complexityPairs.push([
        COMPLEXITY_LABELS.indexOf(example.complexity),
        COMPLEXITY_LABELS.indexOf(answer.complexity),
      ]);
    }
  }
  return {
    type: headMetrics(TYPE_LABELS, typePairs),
    complexity: headMetrics(COMPLEXITY_LABELS, complexityPairs),
  };
}

/** The always-the-most-frequent-class baseline, fitted on training examples. */
export function majorityPredictor(training: readonly Example[]): Predictor {
  const most = <L extends string>(labels: readonly L[], pick: (example: Example) => L | undefined): L => {
    const counts = new Map<L, number>();
    for (const example of training) {
      const label = pick(example);
      if (label) counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    return [...labels].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0))[0] as L;
  };
  const type = most(TYPE_LABELS, (example) => example.type);
  const complexity = most(COMPLEXITY_LABELS, (example) => example.complexity);
  return () => ({ type, complexity });
}
