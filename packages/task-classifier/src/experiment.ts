import type { Example } from './examples.js';
import { combine, TypeScriptModel, type ClassifierMode, type ModelOutput } from './classification.js';
import { evaluate, majorityPredictor, type Evaluation, type Predictor } from './evaluate.js';
import { prepareText } from './input.js';
import { seededRandom, shuffle } from './softmaxRegression.js';
import { train, type HeadOptions, type TrainedModel, type TrainOptions } from './train.js';

/** A split of labelled examples into training, validation (model selection) and test (reporting only). */
export interface Split {
  train: Example[];
  validation: Example[];
  test: Example[];
}

/**
 * Splits examples stratified on (type, complexity), so every split keeps the label mix; deterministic for
 * a seed. `validationShare` and `testShare` are fractions of each stratum.
 */
export function stratifiedSplit(
  examples: readonly Example[],
  validationShare: number,
  testShare: number,
  seed: number,
): Split {
  const strata = new Map<string, Example[]>();
  for (const example of examples) {
    const key = `${example.type ?? '-'}|${example.complexity ?? '-'}`;
    const stratum = strata.get(key) ?? [];
    stratum.push(example);
    strata.set(key, stratum);
  }
  const random = seededRandom(seed);
  const split: Split = { train: [], validation: [], test: [] };
  for (const key of [...strata.keys()].sort()) {
    const stratum = shuffle([...(strata.get(key) ?? [])], random);
    const test = Math.round(stratum.length * testShare);
    const validation = Math.round(stratum.length * validationShare);
    split.test.push(...stratum.slice(0, test));
    split.validation.push(...stratum.slice(test, test + validation));
    split.train.push(...stratum.slice(test + validation));
  }
  return split;
}

/**
 * Picks whole groups (repositories) for validation, so model selection measures what the held-out report
 * measures: text from a project the model never saw. Seeded shuffle of the sorted group names; `count` groups.
 */
export function pickValidationGroups(groups: readonly string[], count: number, seed: number): Set<string> {
  return new Set(shuffle([...new Set(groups)].sort(), seededRandom(seed)).slice(0, count));
}

/** Splits examples into those of the validation groups and the rest (training). */
export function groupSplit(
  examples: readonly Example[],
  validationGroups: ReadonlySet<string>,
): Pick<Split, 'train' | 'validation'> {
  const split: Pick<Split, 'train' | 'validation'> = { train: [], validation: [] };
  for (const example of examples)
    (validationGroups.has(example.group) ? split.validation : split.train).push(example);
  return split;
}

/** Predictors for the side-by-side comparison, all over one TypeScript model. */
export function predictors(
  model: TrainedModel,
  training: readonly Example[],
  threshold: number,
): Record<string, Predictor> {
  const typescript = new TypeScriptModel(model);
  const cache = new Map<string, ModelOutput>();
  const output = (title: string, description: string) => {
    const key = `${title}\u0000${description}`;
    let value = cache.get(key);
    if (!value) {
      value = typescript.predict(prepareText({ title, description }));
      cache.set(key, value);
    }
    return value;
  };
  const byMode =
    (mode: ClassifierMode): Predictor =>
    (text) => {
      const prepared = prepareText(text);
      const result = combine(
        prepared,
        mode === 'HEURISTIC' ? undefined : output(text.title, text.description),
        mode,
        threshold,
        model.version,
      );
      return { type: result.type.label, complexity: result.complexity.label };
    };
  return {
    model: byMode('MODEL'),
    heuristic: byMode('HEURISTIC'),
    hybrid: byMode('HYBRID'),
    majority: majorityPredictor(training),
  };
}

/** Trains one model; `train` itself, or the same call run in a worker thread. */
export type Trainer = (args: {
  examples: readonly Example[];
  options: Partial<TrainOptions>;
}) => TrainedModel | Promise<TrainedModel>;

/** One hyper-parameter candidate and how it scored on validation. */
export interface SweepResult {
  head: HeadOptions;
  validation: Evaluation;
}

/** Selection score: the mean of accuracy and macro-F1, so a head cannot win by ignoring small classes. */
export function selectionScore(metrics: { accuracy: number; macroF1: number }): number {
  return (metrics.accuracy + metrics.macroF1) / 2;
}

/**
 * Trains one model per candidate on `split.train`, scores it on `split.validation` only, and picks the best
 * candidate per head (the heads train independently, so one run scores a candidate for both). Then picks
 * the hybrid threshold the same way. The test set is never looked at.
 */
export async function sweep(
  split: Pick<Split, 'train' | 'validation'>,
  candidates: readonly HeadOptions[],
  thresholds: readonly number[],
  base: Partial<TrainOptions>,
  onProgress?: (message: string) => void,
  trainer: Trainer = (args) => train(args),
): Promise<{
  type: HeadOptions;
  complexity: HeadOptions;
  threshold: number;
  results: SweepResult[];
  thresholdScores: Record<string, number>;
}> {
  const results: SweepResult[] = [];
  let best: { type?: SweepResult; complexity?: SweepResult; model?: TrainedModel } = {};
  // Candidates train concurrently when the trainer runs elsewhere (worker threads); results stay in order.
  const models = await Promise.all(
    candidates.map((head) =>
      trainer({ examples: split.train, options: { ...base, type: head, complexity: head } }),
    ),
  );
  for (const [index, head] of candidates.entries()) {
    const model = models[index] as TrainedModel;
    const validation = await evaluate(
      predictors(model, split.train, 1.01)['model'] as Predictor,
      split.validation,
    );
    const result = { head, validation };
    results.push(result);
    onProgress?.(
      `l2=${head.l2} classWeightPower=${head.classWeightPower}: validation type acc ${validation.type.accuracy.toFixed(3)} F1 ${validation.type.macroF1.toFixed(3)}, complexity acc ${validation.complexity.accuracy.toFixed(3)} F1 ${validation.complexity.macroF1.toFixed(3)}`,
    );
    if (!best.type || selectionScore(validation.type) > selectionScore(best.type.validation.type))
      best = { ...best, type: result, model };
    if (
      !best.complexity ||
      selectionScore(validation.complexity) > selectionScore(best.complexity.validation.complexity)
    )
      best = { ...best, complexity: result };
  }
  const thresholdScores: Record<string, number> = {};
  let threshold = thresholds[0] ?? 0.9;
  for (const candidate of thresholds) {
    const hybrid = await evaluate(
      predictors(best.model as TrainedModel, split.train, candidate)['hybrid'] as Predictor,
      split.validation,
    );
    thresholdScores[String(candidate)] = selectionScore(hybrid.type) + selectionScore(hybrid.complexity);
    if ((thresholdScores[String(candidate)] ?? 0) > (thresholdScores[String(threshold)] ?? 0))
      threshold = candidate;
  }
  return {
    type: (best.type as SweepResult).head,
    complexity: (best.complexity as SweepResult).head,
    threshold,
    results,
    thresholdScores,
  };
}

/** Every predictor's metrics on one test set, keyed by predictor name. */
export async function compare(
  predictorsByName: Record<string, Predictor>,
  test: readonly Example[],
): Promise<Record<string, Evaluation>> {
  const out: Record<string, Evaluation> = {};
  for (const [name, predictor] of Object.entries(predictorsByName))
    out[name] = await evaluate(predictor, test);
  return out;
}

/** A side-by-side text table of a comparison, for the training command's output. */
export function formatComparison(title: string, results: Record<string, Evaluation>): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`.padStart(7);
  const lines = [
    title,
    `  ${'predictor'.padEnd(10)} ${'type acc'.padStart(8)} ${'type F1'.padStart(8)} ${'cplx acc'.padStart(8)} ${'cplx F1'.padStart(8)}   (n: type ${Object.values(results)[0]?.type.examples ?? 0}, complexity ${Object.values(results)[0]?.complexity.examples ?? 0})`,
  ];
  for (const [name, evaluation] of Object.entries(results)) {
    lines.push(
      `  ${name.padEnd(10)} ${pct(evaluation.type.accuracy)}  ${pct(evaluation.type.macroF1)}  ${pct(evaluation.complexity.accuracy)}  ${pct(evaluation.complexity.macroF1)}`,
    );
  }
  return lines.join('\n');
}

/** A confusion matrix as text (rows actual, columns predicted). */
export function formatConfusion(title: string, metrics: Evaluation['type']): string {
  const short = metrics.labels.map((label) => label.slice(0, 6).padStart(7));
  const lines = [`${title} (rows: actual, columns: predicted)`, `  ${''.padEnd(14)}${short.join('')}`];
  for (const [row, label] of metrics.labels.entries()) {
    lines.push(
      `  ${label.padEnd(14)}${(metrics.confusion[row] ?? []).map((value) => String(value).padStart(7)).join('')}`,
    );
  }
  return lines.join('\n');
}
