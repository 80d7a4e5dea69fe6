/**
 * Measures pretrained sentence embeddings as features (ADR 0037), under the rules of ADR 0027: each variant is
 * trained on the training repositories without the four validation repositories (and with the changelogs),
 * scored on the validation repositories (where the decision is made) and on the held-out repositories (reported
 * only), both with the committed labels; the committed heads' hyper-parameters throughout.
 *
 *   scripts/embedding-model.sh all-minilm-l6-v2-q     # once per model: the pinned weights, sha256-checked
 *   npx tsx --conditions=source packages/task-classifier/scripts/embeddingLevers.ts --throughput minilm
 *   npx tsx --conditions=source packages/task-classifier/scripts/embeddingLevers.ts --embed minilm e5
 *   npx tsx --conditions=source packages/task-classifier/scripts/embeddingLevers.ts base minilm:only minilm:cat1 e5:cat1
 *
 * Variants: `base` (the committed TF-IDF features, as `levers.ts base`), `<model>:only[<w>]` (softmax
 * regression on the embedding alone, times w) and `<model>:cat<w>` (the committed features with the unit-length embedding times w
 * appended). `--embed` embeds the validation and held-out texts, then the training texts round-robin over the
 * sources, into a cache under the OS tmpdir keyed by model sha256 and text hash; it can be stopped any time.
 * The variants then read only that cache and all train on the training examples every named model has
 * embedded (all of them once `--embed` has finished), `base` included, so they compare like for like.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COMPLEXITY_LABELS,
  DEFAULT_EMBEDDING_MODEL_DIR,
  DEFAULT_VOCABULARY,
  embedAllCached,
  embeddingText,
  evaluate,
  featureCount,
  fitFeatures,
  loadSentenceEmbedder,
  locateEmbeddingModel,
  predictors,
  predictProbabilities,
  prepareText,
  readEmbeddingModels,
  termIndex,
  textKey,
  train,
  trainHead,
  TYPE_LABELS,
  vectorize,
  type Example,
  type Predictor,
  type SentenceEmbedder,
  type SparseVector,
  type TaskText,
} from '@cap/task-classifier';
import { log, pct, readLeversCorpus } from './leversCorpus.js';

const ALIASES: Record<string, string> = { minilm: 'all-minilm-l6-v2-q', e5: 'e5-small-v2-q' };
const COMMITTED_HEADS = {
  type: { l2: 1e-5, classWeightPower: 0.5 },
  complexity: { l2: 1e-5, classWeightPower: 0 },
};
const args = process.argv.slice(2);
const threads = Number(args.find((arg) => arg.startsWith('--threads='))?.slice(10) ?? 1);
const throughput = args.includes('--throughput');
const embedOnly = args.includes('--embed');
const keys = args.filter((arg) => !arg.startsWith('--'));
const catalogue = await readEmbeddingModels();

async function openModel(alias: string): Promise<SentenceEmbedder> {
  const spec = catalogue[ALIASES[alias] ?? alias];
  if (!spec) throw new Error(`unknown model ${alias}; known: ${Object.keys(ALIASES).join(', ')}`);
  const located = await locateEmbeddingModel(spec, DEFAULT_EMBEDDING_MODEL_DIR);
  if (!located.ok) throw new Error(located.reason);
  return loadSentenceEmbedder({ ...located, prefix: spec.prefix, intraOpNumThreads: threads });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

const corpus = await readLeversCorpus();
const { validationSet, heldOutSet } = corpus;

if (throughput) {
  // 1,000 validation texts one at a time (what serving does per request), then the same in batches of 32.
  const texts = validationSet.slice(0, 1000).map((example) => embeddingText(prepareText(example)));
  for (const alias of keys) {
    const embedder = await openModel(alias);
    const times: number[] = [];
    const tokens: number[] = [];
    for (const text of texts) {
      const started = performance.now();
      await embedder.embed([text]);
      times.push(performance.now() - started);
      tokens.push(embedder.tokenizer.encode(text).ids.length);
    }
    times.sort((a, b) => a - b);
    const started = performance.now();
    for (let i = 0; i < texts.length; i += 32) await embedder.embed(texts.slice(i, i + 32));
    const batched = (performance.now() - started) / texts.length;
    const meanTokens = tokens.reduce((sum, n) => sum + n, 0) / tokens.length;
    log(
      `${alias} (${threads} thread): one text at a time p50 ${percentile(times, 0.5).toFixed(2)} ms, p99 ${percentile(times, 0.99).toFixed(2)} ms, mean ${(times.reduce((s, t) => s + t, 0) / times.length).toFixed(2)} ms; batches of 32: ${batched.toFixed(2)} ms per text; ${meanTokens.toFixed(1)} tokens per text on average`,
    );
    await embedder.release();
  }
  process.exit(0);
}

const fullTraining = corpus.training();
// Round-robin over the training sources, so any prefix the embedding run reaches is a balanced sample.
const bySource = new Map<string, Example[]>();
for (const example of fullTraining) {
  const list = bySource.get(example.group) ?? [];
  list.push(example);
  bySource.set(example.group, list);
}
const interleaved: Example[] = [];
for (let i = 0; interleaved.length < fullTraining.length; i += 1)
  for (const examples of bySource.values()) if (examples[i]) interleaved.push(examples[i] as Example);
const textOf = (example: TaskText) => embeddingText(prepareText(example));
const embeddings = new Map<string, Map<string, Float32Array>>();
for (const alias of new Set([
  ...keys.filter((key) => key.includes(':')).map((key) => key.split(':')[0] ?? ''),
  ...(embedOnly ? keys : []),
])) {
  const embedder = await openModel(alias);
  let last = 0;
  // The test sets first (they must be complete), then the training examples in round-robin order.
  const vectors = await embedAllCached({
    embedder,
    texts: [...validationSet, ...heldOutSet, ...interleaved].map(textOf),
    cacheDir: join(tmpdir(), 'cap-task-classifier-embeddings'),
    variant: `prefix=${JSON.stringify(catalogue[ALIASES[alias] ?? alias]?.prefix ?? '')};maxTokens=128`,
    embedMissing: embedOnly,
    onProgress: (progress) => {
      if (progress.done - last < 2048 && progress.done < progress.missing) return;
      last = progress.done;
      log(
        `${alias}: embedded ${progress.done} of ${progress.missing} missing (${progress.cached} cached), ${progress.msPerText.toFixed(2)} ms per text`,
      );
    },
  });
  for (const example of [...validationSet, ...heldOutSet])
    if (!vectors.has(textKey(textOf(example))))
      throw new Error(`${alias}: the test sets are not embedded yet (--embed ${alias} first)`);
  embeddings.set(alias, vectors);
  await embedder.release();
}
if (embedOnly) process.exit(0);
// Every variant trains on the same examples: those every model in this run has an embedding for.
const training = fullTraining.filter((example) =>
  [...embeddings.values()].every((vectors) => vectors.has(textKey(textOf(example)))),
);
log(`training on ${training.length} of ${fullTraining.length} examples (those embedded by every model)`);

const trainingTexts = training.map((example) => prepareText(example));
const spec = fitFeatures(trainingTexts, DEFAULT_VOCABULARY);
const index = termIndex(spec);
const tfidfWidth = featureCount(spec);

/** One text's row for a variant: the committed features and/or the embedding times `weight`. */
function rowOf(text: TaskText, vectors: Map<string, Float32Array>, weight: number, tfidf: boolean) {
  const prepared = prepareText(text);
  const embedding = vectors.get(textKey(embeddingText(prepared)));
  if (!embedding) throw new Error(`no embedding for ${JSON.stringify(prepared.title)}`);
  const base = tfidf ? vectorize(spec, index, prepared).vector : undefined;
  const offset = tfidf ? tfidfWidth : 0;
  const size = (base?.indices.length ?? 0) + embedding.length;
  const indices = new Int32Array(size);
  const values = new Float32Array(size);
  if (base) {
    indices.set(base.indices);
    values.set(base.values);
  }
  const start = base?.indices.length ?? 0;
  for (let k = 0; k < embedding.length; k += 1) {
    indices[start + k] = offset + k;
    values[start + k] = (embedding[k] ?? 0) * weight;
  }
  return { indices, values } satisfies SparseVector;
}

function trainVariant(alias: string, weight: number, tfidf: boolean): Predictor {
  const vectors = embeddings.get(alias) as Map<string, Float32Array>;
  const rows = training.map((example) => rowOf(example, vectors, weight, tfidf));
  const width = (tfidf ? tfidfWidth : 0) + (vectors.values().next().value?.length ?? 0);
  const targets = (pick: (example: Example) => number) => Int32Array.from(training, pick);
  const common = { epochs: 10, batchSize: 64, learningRate: 0.01, seed: 42 };
  const typeHead = trainHead(
    rows,
    targets((example) => (example.type ? TYPE_LABELS.indexOf(example.type) : -1)),
    width,
    TYPE_LABELS.length,
    { ...common, ...COMMITTED_HEADS.type },
  );
  const complexityHead = trainHead(
    rows,
    targets((example) => (example.complexity ? COMPLEXITY_LABELS.indexOf(example.complexity) : -1)),
    width,
    COMPLEXITY_LABELS.length,
    { ...common, ...COMMITTED_HEADS.complexity },
  );
  const argmax = (probabilities: Float64Array) =>
    probabilities.reduce((best, p, c) => (p > (probabilities[best] ?? 0) ? c : best), 0);
  return (text) => {
    const row = rowOf(text, vectors, weight, tfidf);
    return {
      type: TYPE_LABELS[argmax(predictProbabilities(typeHead, row))] ?? 'OTHER',
      complexity: COMPLEXITY_LABELS[argmax(predictProbabilities(complexityHead, row))] ?? 'MEDIUM',
    };
  };
}

log(
  `| variant | validation type acc / F1 | validation complexity acc / F1 | held-out type acc / F1 | held-out complexity acc / F1 | training time |`,
);
for (const key of keys) {
  const started = performance.now();
  let predictor: Predictor;
  let name: string;
  if (key === 'base') {
    const model = train({ examples: training, options: { ...COMMITTED_HEADS, seed: 42 } });
    predictor = predictors(model, training, 1.01)['model'] as Predictor;
    name = `the committed features (${training.length} training examples)`;
  } else {
    const [alias = '', kind = ''] = key.split(':');
    const only = kind.startsWith('only');
    // `only<w>` scales the unit-length embedding (per-dimension values near 1/√384 are small next to the
    // TF-IDF features' and the L2 penalty); `cat<w>` weighs it against the unit-length TF-IDF block.
    const weight = Number(kind.replace(/^(only|cat)/, '') || 1);
    if (!embeddings.has(alias) || !(weight > 0) || !/^(only|cat)/.test(kind))
      throw new Error(`unknown variant ${key}: base, <model>:only[<weight>] or <model>:cat<weight>`);
    predictor = trainVariant(alias, weight, !only);
    name = only
      ? `${alias} embedding alone${weight === 1 ? '' : ` × ${weight}`}`
      : `committed features + ${alias} embedding × ${weight}`;
  }
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  const [v, h] = [await evaluate(predictor, validationSet), await evaluate(predictor, heldOutSet)];
  log(
    `| ${name} | ${pct(v.type.accuracy)} / ${pct(v.type.macroF1)} | ${pct(v.complexity.accuracy)} / ${pct(v.complexity.macroF1)} | ${pct(h.type.accuracy)} / ${pct(h.type.macroF1)} | ${pct(h.complexity.accuracy)} / ${pct(h.complexity.macroF1)} | ${minutes} min |`,
  );
}
