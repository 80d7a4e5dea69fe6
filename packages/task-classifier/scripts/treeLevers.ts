/**
 * Gradient-boosted trees measured under the rules of ADR 0027 (ADR 0040). Two representations, both heads:
 *
 * - `trees`: the text signals plus 0/1 indicators of the terms with the highest mutual information with
 *   each head's label on the training side;
 * - `stacked`: the same plus the logistic model's class probabilities of both heads, out of fold on the
 *   training side (group k-fold over the training repositories, so a text's probabilities come from a model
 *   that never saw its repository, as on validation and held-out), and from the model trained on the whole
 *   training side for the validation and held-out texts.
 *
 * A handful of tree settings is scored on the validation repositories only; the held-out repositories are
 * scored for the chosen setting per representation and head only. Both test sets carry the committed labels.
 *
 *   nice -n 15 npx tsx --conditions=source packages/task-classifier/scripts/treeLevers.ts [--folds 3] [--terms 150]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  boostedProbabilities,
  COMPLEXITY_LABELS,
  formatConfusion,
  headMetrics,
  prepareText,
  selectionScore,
  selectIndicatorTerms,
  trainBoosted,
  treeMatrix,
  treeRow,
  TypeScriptModel,
  TYPE_LABELS,
  type BoostedModel,
  type BoostingOptions,
  type DenseMatrix,
  type Example,
  type HeadMetrics,
  type TaskText,
  type TrainedModel,
  type TreeFeatureSpec,
} from '@cap/task-classifier';
import { log, pct, readLeversCorpus } from './leversCorpus.js';

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const folds = argument('--folds', 3);
const perHead = argument('--terms', 150);
const cacheDir = join(tmpdir(), 'cap-task-classifier-trees');
mkdirSync(cacheDir, { recursive: true });

const corpus = await readLeversCorpus();
const training = corpus.training();
const { validationSet, heldOutSet } = corpus;
const prepared = (examples: readonly Example[]) => examples.map((example) => prepareText(example));
const [trainTexts, validationTexts, heldOutTexts] = [training, validationSet, heldOutSet].map(prepared) as [
  TaskText[],
  TaskText[],
  TaskText[],
];
const targetsOf = (examples: readonly Example[], head: 'type' | 'complexity') =>
  Int32Array.from(examples, (example) => {
    const label = example[head];
    return label === undefined
      ? -1
      : head === 'type'
        ? TYPE_LABELS.indexOf(label as (typeof TYPE_LABELS)[number])
        : COMPLEXITY_LABELS.indexOf(label as (typeof COMPLEXITY_LABELS)[number]);
  });
const heads = {
  type: { labels: TYPE_LABELS, classes: TYPE_LABELS.length },
  complexity: { labels: COMPLEXITY_LABELS, classes: COMPLEXITY_LABELS.length },
} as const;
type Head = keyof typeof heads;
const trainTargets = { type: targetsOf(training, 'type'), complexity: targetsOf(training, 'complexity') };
const key = createHash('sha256')
  .update(JSON.stringify(training.map((e) => [e.group, e.title, e.description, e.type, e.complexity])))
  .digest('hex')
  .slice(0, 16);
log(
  `training ${training.length} examples (key ${key}), validation ${validationSet.length}, held out ${heldOutSet.length}`,
);

const cached = <T>(name: string, compute: () => Promise<T> | T): Promise<T> | T => {
  const file = join(cacheDir, `${name}-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as T;
  const write = (value: T) => {
    writeFileSync(file, JSON.stringify(value));
    return value;
  };
  const value = compute();
  return value instanceof Promise ? value.then(write) : write(value);
};

// The logistic model's probabilities: group k-fold out of fold on the training side, the full model elsewhere.
const lrOptions = {
  type: { l2: 1e-5, classWeightPower: 0.5 },
  complexity: { l2: 1e-5, classWeightPower: 0 },
  seed: 42,
};
const inWorker = (examples: readonly Example[]) =>
  new Promise<TrainedModel>((resolvePromise, reject) => {
    const worker = new Worker(new URL('./trainWorker.mjs', import.meta.url), {
      workerData: { examples, options: lrOptions },
      execArgv: ['--conditions=source'],
    });
    worker.once('message', (model: TrainedModel) => {
      resolvePromise(model);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
const probabilitiesOf = (model: TrainedModel, texts: readonly TaskText[]) => {
  const typescript = new TypeScriptModel(model);
  return texts.map((text) => {
    const output = typescript.predict(text);
    return [...Array.from(output.type), ...Array.from(output.complexity)];
  });
};
const groups = [...new Set(training.map((e) => e.group))].sort();
const foldOf = new Map(groups.map((group, index) => [group, index % folds]));
const representations = process.argv.includes('--stacked-only')
  ? (['stacked'] as const)
  : process.argv.includes('--trees-only')
    ? (['trees'] as const)
    : (['trees', 'stacked'] as const);
// Float32Arrays do not survive JSON: the model's heads are cached as plain arrays.
type Stored = Omit<TrainedModel, 'heads'> & {
  heads: Record<Head, { weights: number[]; bias: number[]; classes: number }>;
};
/** Each head of `model` with its weights and bias converted by `convert` (to plain arrays and back). */
const convertHeads = <From extends ArrayLike<number>, To>(
  model: { heads: Record<Head, { weights: From; bias: From }> },
  convert: (values: From) => To,
) =>
  Object.fromEntries(
    (Object.keys(model.heads) as Head[]).map((head) => [
      head,
      {
        ...model.heads[head],
        weights: convert(model.heads[head].weights),
        bias: convert(model.heads[head].bias),
      },
    ]),
  );
const store = (model: TrainedModel): Stored =>
  ({ ...model, heads: convertHeads(model, (values) => Array.from(values)) }) as Stored;
const restore = (model: Stored): TrainedModel =>
  ({
    ...model,
    heads: convertHeads(model, (values) => Float32Array.from(values)),
  }) as unknown as TrainedModel;
// Started at once (worker threads), so the logistic models train while the trees-alone variants run.
const stackInputs = (representations as readonly string[]).includes('stacked')
  ? Promise.resolve(
      cached(`lr-folds${folds}`, async () => {
        const t0 = Date.now();
        const models = await Promise.all([
          inWorker(training),
          ...Array.from({ length: folds }, (_, f) =>
            inWorker(training.filter((e) => foldOf.get(e.group) !== f)),
          ),
        ]);
        const full = models[0] as TrainedModel;
        const oof = new Array<number[]>(training.length);
        for (let f = 0; f < folds; f += 1) {
          const rows = training.flatMap((e, i) => (foldOf.get(e.group) === f ? [i] : []));
          const probabilities = probabilitiesOf(
            models[f + 1] as TrainedModel,
            rows.map((i) => trainTexts[i] as TaskText),
          );
          for (const [k, i] of rows.entries()) oof[i] = probabilities[k] as number[];
        }
        log(
          `logistic models (${folds} folds + full) trained in ${((Date.now() - t0) / 60000).toFixed(1)} min`,
        );
        return {
          train: oof,
          validation: probabilitiesOf(full, validationTexts),
          heldOut: probabilitiesOf(full, heldOutTexts),
          model: store(full),
        };
      }),
    )
  : undefined;

const started = Date.now();
const terms = await cached(`terms${perHead}`, () =>
  selectIndicatorTerms(
    trainTexts,
    (['type', 'complexity'] as const).map((head) => ({
      targets: trainTargets[head],
      classes: heads[head].classes,
    })),
    perHead,
  ),
);
log(
  `${terms.length} indicator terms (${perHead} per head) in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);

const settings: Record<string, Partial<BoostingOptions>> = {
  d4: { maxDepth: 4, learningRate: 0.2, minLeaf: 50, l2: 1 },
  d6: { maxDepth: 6, learningRate: 0.2, minLeaf: 100, l2: 5 },
  d6s: { maxDepth: 6, learningRate: 0.1, minLeaf: 200, l2: 10, featureShare: 0.5 },
  d8: { maxDepth: 8, learningRate: 0.2, minLeaf: 200, l2: 10 },
};
const chosenSettings = process.argv.slice(2).filter((arg) => arg in settings);

const rowsWith = (matrix: DenseMatrix, rows: readonly number[]): DenseMatrix => {
  const values = new Float32Array(rows.length * matrix.columns);
  for (const [k, row] of rows.entries())
    values.set(matrix.values.subarray(row * matrix.columns, (row + 1) * matrix.columns), k * matrix.columns);
  return { rows: rows.length, columns: matrix.columns, values };
};
const argmax = (p: ArrayLike<number>) => {
  let best = 0;
  for (let c = 1; c < p.length; c += 1) if ((p[c] ?? 0) > (p[best] ?? 0)) best = c;
  return best;
};
const score = (
  model: BoostedModel,
  matrix: DenseMatrix,
  examples: readonly Example[],
  head: Head,
): HeadMetrics => {
  const targets = targetsOf(examples, head);
  const pairs: [number, number][] = [];
  for (let i = 0; i < matrix.rows; i += 1) {
    if ((targets[i] ?? -1) < 0) continue;
    pairs.push([targets[i] ?? 0, argmax(boostedProbabilities(model, matrix.values, i * matrix.columns))]);
  }
  return headMetrics(heads[head].labels, pairs);
};

async function measure(representation: 'trees' | 'stacked'): Promise<void> {
  const stack = representation === 'stacked' ? await stackInputs : undefined;
  const spec: TreeFeatureSpec = { terms, extra: stack ? TYPE_LABELS.length + COMPLEXITY_LABELS.length : 0 };
  const matrices = {
    train: treeMatrix(spec, trainTexts, (i) => stack?.train[i] ?? []),
    validation: treeMatrix(spec, validationTexts, (i) => stack?.validation[i] ?? []),
    heldOut: treeMatrix(spec, heldOutTexts, (i) => stack?.heldOut[i] ?? []),
  };
  if (stack) {
    const lr = (set: 'validation' | 'heldOut', examples: readonly Example[], head: Head) => {
      const targets = targetsOf(examples, head);
      const offset = head === 'type' ? 0 : TYPE_LABELS.length;
      const pairs: [number, number][] = [];
      for (const [i, p] of stack[set].entries())
        if ((targets[i] ?? -1) >= 0)
          pairs.push([targets[i] ?? 0, argmax(p.slice(offset, offset + heads[head].classes))]);
      return headMetrics(heads[head].labels, pairs);
    };
    log(
      `logistic model alone (probabilities, no heuristic fallback): validation type ${pct(lr('validation', validationSet, 'type').accuracy)}, complexity ${pct(lr('validation', validationSet, 'complexity').accuracy)}; held out type ${pct(lr('heldOut', heldOutSet, 'type').accuracy)}, complexity ${pct(lr('heldOut', heldOutSet, 'complexity').accuracy)}`,
    );
  }
  const best = new Map<Head, { name: string; model: BoostedModel; validation: HeadMetrics }>();
  for (const name of chosenSettings.length > 0 ? chosenSettings : Object.keys(settings)) {
    for (const head of ['type', 'complexity'] as const) {
      const rows = [...trainTargets[head].keys()].filter((i) => (trainTargets[head][i] ?? -1) >= 0);
      const t0 = Date.now();
      const model = trainBoosted({
        x: rowsWith(matrices.train, rows),
        y: Int32Array.from(rows, (i) => trainTargets[head][i] ?? 0),
        classes: heads[head].classes,
        options: {
          ...settings[name],
          rounds: 300,
          earlyStoppingRounds: 15,
          earlyStoppingShare: 0.1,
          seed: 42,
        },
      });
      const validation = score(model, matrices.validation, validationSet, head);
      log(
        `| ${representation} ${name} | ${head} | ${model.trees.length} rounds, ${((Date.now() - t0) / 60000).toFixed(1)} min | validation ${pct(validation.accuracy)} / ${pct(validation.macroF1)} |`,
      );
      const current = best.get(head);
      if (!current || selectionScore(validation) > selectionScore(current.validation))
        best.set(head, { name, model, validation });
    }
  }
  for (const [head, chosen] of best) {
    const heldOut = score(chosen.model, matrices.heldOut, heldOutSet, head);
    log(
      `chosen ${representation} ${head}: ${chosen.name}; validation ${pct(chosen.validation.accuracy)} / ${pct(chosen.validation.macroF1)}, held out ${pct(heldOut.accuracy)} / ${pct(heldOut.macroF1)}`,
    );
    if (head === 'complexity') {
      log(formatConfusion(`${representation} complexity, validation`, chosen.validation));
      log(formatConfusion(`${representation} complexity, held out`, heldOut));
    }
  }
  // In-process cost of one classification: prepare the text, the logistic model when stacked, the row, both heads.
  const typescript = stack ? new TypeScriptModel(restore(stack.model)) : undefined;
  const index = new Map(terms.map((term, column) => [term, column]));
  const times: number[] = [];
  for (const example of validationSet.slice(0, 3000)) {
    const t0 = process.hrtime.bigint();
    const text = prepareText(example);
    const output = typescript?.predict(text);
    const row = treeRow(
      spec,
      index,
      text,
      output ? [...Array.from(output.type), ...Array.from(output.complexity)] : [],
    );
    for (const chosen of best.values()) boostedProbabilities(chosen.model, row);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(2);
  log(
    `${representation}: one classification in process, ${times.length} validation texts: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
  );
}

for (const representation of representations) await measure(representation);
