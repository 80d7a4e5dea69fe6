import { seededRandom, shuffle } from './softmaxRegression.js';
import {
  checkLabels,
  checkMatrix,
  checkOptions,
  DEFAULT_BOOSTING_OPTIONS,
  BoostingInputError,
  type BoostingOptions,
  type DenseMatrix,
} from './boostingInput.js';
import { binMatrix, fitBins, type Binned } from './histogramBins.js';

/**
 * Histogram-based gradient-boosted decision trees for multiclass classification (ADR 0040): softmax
 * cross-entropy, one regression tree per class per round fitted to the second-order (gradient / hessian)
 * expansion, leaf values `-G / (H + l2)` times the learning rate, depth-wise growth to `maxDepth` with at
 * least `minLeaf` rows per leaf. Every feature is cut into at most 255 bins at quantiles of its training
 * values; each tree stores raw thresholds, so prediction reads raw values. Early stopping watches the
 * cross-entropy of a held-out fold. Deterministic for a seed.
 */

/** One tree, flat: node `i` is a leaf when `feature[i] < 0`; otherwise `x <= threshold` goes to `left`. */
export interface RegressionTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

export interface BoostedModel {
  classes: number;
  columns: number;
  /** Initial raw score per class (log of the class prior). */
  base: Float64Array;
  /** `trees[round][class]`. */
  trees: RegressionTree[][];
  /** Early-stopping loss after each kept round. */
  earlyStoppingLoss: number[];
}

interface NodeStats {
  id: number;
  g: number;
  h: number;
  count: number;
}

/**
 * Histograms of `nodes` in one pass over the features' sparse lists: per node, `3 * totalBins` values
 * (gradient, hessian and row count per bin). Each feature's most frequent bin is then the node's total minus
 * its other bins, so a mostly-zero indicator costs only its non-zero rows.
 */
function buildHistograms(
  data: Binned,
  gradient: Float64Array,
  hessian: Float64Array,
  features: Int32Array,
  nodeOf: Int32Array,
  nodes: readonly NodeStats[],
): Float64Array[] {
  const width = 3 * data.totalBins;
  const all = new Float64Array(nodes.length * width);
  const slot = new Int32Array(Math.max(0, ...nodes.map((node) => node.id)) + 1).fill(-1);
  for (const [k, node] of nodes.entries()) slot[node.id] = k;
  // Each row's histogram offset (or -1), looked up once per pass rather than once per feature.
  const rowAt = new Int32Array(data.rows);
  for (let i = 0; i < data.rows; i += 1) {
    const node = nodeOf[i] ?? 0;
    const s = node < slot.length ? (slot[node] ?? -1) : -1;
    rowAt[i] = s < 0 ? -1 : s * width;
  }
  for (const f of features) {
    const rowsF = data.sparseRows[f] as Int32Array;
    const binsF = data.sparseBins[f] as Uint8Array;
    const base = 3 * (data.offset[f] ?? 0);
    for (let k = 0; k < rowsF.length; k += 1) {
      const i = rowsF[k] ?? 0;
      const row = rowAt[i] ?? -1;
      if (row < 0) continue;
      const at = row + base + 3 * (binsF[k] ?? 0);
      all[at] = (all[at] ?? 0) + (gradient[i] ?? 0);
      all[at + 1] = (all[at + 1] ?? 0) + (hessian[i] ?? 0);
      all[at + 2] = (all[at + 2] ?? 0) + 1;
    }
  }
  return nodes.map((node, k) => {
    const hist = all.subarray(k * width, (k + 1) * width);
    for (const f of features) {
      const base = 3 * (data.offset[f] ?? 0);
      const d = base + 3 * (data.defaultBin[f] ?? 0);
      let [g, h, c] = [node.g, node.h, node.count];
      for (let at = base; at < base + 3 * (data.binCount[f] ?? 1); at += 3) {
        g -= hist[at] ?? 0;
        h -= hist[at + 1] ?? 0;
        c -= hist[at + 2] ?? 0;
      }
      hist[d] = g;
      hist[d + 1] = h;
      hist[d + 2] = c;
    }
    return hist;
  });
}

/** The best split of a node from its histogram, or undefined when no split gains or keeps `minLeaf` rows a side. */
function bestSplit(
  hist: Float64Array,
  node: NodeStats,
  data: Binned,
  features: Int32Array,
  options: BoostingOptions,
): { f: number; bin: number; g: number; h: number; count: number } | undefined {
  const { l2, minLeaf } = options;
  const score = (g: number, h: number) => (g * g) / (h + l2);
  const parentScore = score(node.g, node.h);
  let best = { gain: 1e-12, f: -1, bin: -1, g: 0, h: 0, count: 0 };
  for (const f of features) {
    const base = 3 * (data.offset[f] ?? 0);
    const bins = data.binCount[f] ?? 1;
    let [gl, hl, cl] = [0, 0, 0];
    for (let b = 0; b < bins - 1; b += 1) {
      gl += hist[base + 3 * b] ?? 0;
      hl += hist[base + 3 * b + 1] ?? 0;
      cl += hist[base + 3 * b + 2] ?? 0;
      if (cl < minLeaf) continue;
      if (node.count - cl < minLeaf) break;
      const gain = score(gl, hl) + score(node.g - gl, node.h - hl) - parentScore;
      if (gain > best.gain) best = { gain, f, bin: b, g: gl, h: hl, count: cl };
    }
  }
  return best.f < 0 ? undefined : best;
}

/**
 * Grows one tree level by level. `nodeOf[i]` is the tree node row `i` sits in; on return it is its leaf.
 * Only the smaller child of each split gets a histogram pass; its sibling's histogram is the parent's minus
 * the smaller child's.
 */
function growTree(
  data: Binned,
  cuts: Float32Array[],
  gradient: Float64Array,
  hessian: Float64Array,
  features: Int32Array,
  options: BoostingOptions,
  nodeOf: Int32Array,
): RegressionTree {
  const feature: number[] = [-1];
  const threshold: number[] = [0];
  const left: number[] = [-1];
  const right: number[] = [-1];
  const value: number[] = [0];
  let g = 0;
  let h = 0;
  for (let i = 0; i < data.rows; i += 1) {
    g += gradient[i] ?? 0;
    h += hessian[i] ?? 0;
    nodeOf[i] = 0;
  }
  const root: NodeStats = { id: 0, g, h, count: data.rows };
  const leafValue = (s: NodeStats) => (-options.learningRate * s.g) / (s.h + options.l2);
  value[0] = leafValue(root);
  const stats = new Map<number, NodeStats>([[0, root]]);
  const canSplit = (s: NodeStats, depth: number) =>
    depth < options.maxDepth && s.count >= 2 * options.minLeaf;
  let histograms = new Map<number, Float64Array>();
  if (canSplit(root, 0))
    histograms.set(0, buildHistograms(data, gradient, hessian, features, nodeOf, [root])[0] as Float64Array);
  for (let depth = 0; depth < options.maxDepth && histograms.size > 0; depth += 1) {
    const split = new Map<number, { f: number; bin: number }>();
    const pairs: [NodeStats, NodeStats, NodeStats][] = [];
    for (const [id, hist] of histograms) {
      const node = stats.get(id) as NodeStats;
      const best = bestSplit(hist, node, data, features, options);
      if (!best) continue;
      const l: NodeStats = { id: feature.length, g: best.g, h: best.h, count: best.count };
      const r: NodeStats = {
        id: l.id + 1,
        g: node.g - best.g,
        h: node.h - best.h,
        count: node.count - best.count,
      };
      feature[id] = best.f;
      threshold[id] = (cuts[best.f] as Float32Array)[best.bin] ?? 0;
      left[id] = l.id;
      right[id] = r.id;
      for (const child of [l, r]) {
        feature.push(-1);
        threshold.push(0);
        left.push(-1);
        right.push(-1);
        value.push(leafValue(child));
        stats.set(child.id, child);
      }
      split.set(id, { f: best.f, bin: best.bin });
      pairs.push([node, l, r]);
    }
    if (split.size === 0) break;
    for (let i = 0; i < data.rows; i += 1) {
      const node = nodeOf[i] ?? 0;
      const at = split.get(node);
      if (!at) continue;
      nodeOf[i] =
        (data.bins[i * data.columns + at.f] ?? 0) <= at.bin ? (left[node] ?? 0) : (right[node] ?? 0);
    }
    const wanted = pairs.filter(([, l, r]) => canSplit(l, depth + 1) || canSplit(r, depth + 1));
    const smaller = wanted.map(([, l, r]) => (l.count <= r.count ? l : r));
    const built = buildHistograms(data, gradient, hessian, features, nodeOf, smaller);
    const next = new Map<number, Float64Array>();
    for (const [k, [parent, l, r]] of wanted.entries()) {
      const small = built[k] as Float64Array;
      const large = histograms.get(parent.id) as Float64Array;
      for (let j = 0; j < large.length; j += 1) large[j] = (large[j] ?? 0) - (small[j] ?? 0);
      const [smallNode, largeNode] = l.count <= r.count ? [l, r] : [r, l];
      if (canSplit(smallNode, depth + 1)) next.set(smallNode.id, small);
      if (canSplit(largeNode, depth + 1)) next.set(largeNode.id, large);
    }
    histograms = next;
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float32Array.from(value),
  };
}

/** The leaf value a tree gives one row (read at `values[offset + feature]`). */
export function treeValue(tree: RegressionTree, values: ArrayLike<number>, offset = 0): number {
  let node = 0;
  for (let f = tree.feature[0] ?? -1; f >= 0; f = tree.feature[node] ?? -1)
    node =
      (values[offset + f] ?? 0) <= (tree.threshold[node] ?? 0)
        ? (tree.left[node] ?? 0)
        : (tree.right[node] ?? 0);
  return tree.value[node] ?? 0;
}

/** Raw class scores (before softmax) of one row. */
export function boostedScores(model: BoostedModel, values: ArrayLike<number>, offset = 0): Float64Array {
  const scores = Float64Array.from(model.base);
  for (const round of model.trees)
    for (let c = 0; c < model.classes; c += 1)
      scores[c] = (scores[c] ?? 0) + treeValue(round[c] as RegressionTree, values, offset);
  return scores;
}

/** Class probabilities of one row. */
export function boostedProbabilities(
  model: BoostedModel,
  values: ArrayLike<number>,
  offset = 0,
): Float64Array {
  return softmaxInPlace(boostedScores(model, values, offset));
}

function softmaxInPlace(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let sum = 0;
  for (let c = 0; c < scores.length; c += 1) {
    scores[c] = Math.exp((scores[c] ?? 0) - max);
    sum += scores[c] ?? 0;
  }
  for (let c = 0; c < scores.length; c += 1) scores[c] = (scores[c] ?? 0) / sum;
  return scores;
}

/**
 * Trains a boosted multiclass model. Early stopping uses `earlyStopping` when given, otherwise a seeded
 * `earlyStoppingShare` of the training rows (which then do not train the trees); the rounds after the best
 * early-stopping loss are dropped. Refuses empty, misshapen or non-finite input with a {@link BoostingInputError}.
 */
export function trainBoosted(args: {
  x: DenseMatrix;
  y: Int32Array;
  classes: number;
  options?: Partial<BoostingOptions>;
  earlyStopping?: { x: DenseMatrix; y: Int32Array };
  onRound?: (round: number, loss: number) => void;
}): BoostedModel {
  const options: BoostingOptions = { ...DEFAULT_BOOSTING_OPTIONS, ...args.options };
  const { x, y, classes } = args;
  checkOptions(options, classes);
  checkMatrix(x, 'training matrix');
  checkLabels(y, x.rows, classes, 'training labels');
  const random = seededRandom(options.seed);
  let trainIds = Array.from({ length: x.rows }, (_, i) => i);
  let stopX: DenseMatrix | undefined = args.earlyStopping?.x;
  let stopY: Int32Array | undefined = args.earlyStopping?.y;
  if (stopX && stopY) {
    checkMatrix(stopX, 'early-stopping matrix');
    if (stopX.columns !== x.columns)
      throw new BoostingInputError(
        'GBDT_SHAPE_MISMATCH',
        `early-stopping matrix has ${stopX.columns} columns, training ${x.columns}`,
      );
    checkLabels(stopY, stopX.rows, classes, 'early-stopping labels');
  } else if (options.earlyStoppingShare > 0 && x.rows >= 10) {
    const shuffled = shuffle([...trainIds], random);
    const held = Math.max(1, Math.round(x.rows * options.earlyStoppingShare));
    const stopIds = shuffled.slice(0, held).sort((a, b) => a - b);
    trainIds = shuffled.slice(held).sort((a, b) => a - b);
    stopX = { rows: held, columns: x.columns, values: new Float32Array(held * x.columns) };
    for (const [k, row] of stopIds.entries())
      stopX.values.set(x.values.subarray(row * x.columns, (row + 1) * x.columns), k * x.columns);
    stopY = Int32Array.from(stopIds, (row) => y[row] ?? 0);
  }
  const trainX: DenseMatrix = {
    rows: trainIds.length,
    columns: x.columns,
    values: new Float32Array(trainIds.length * x.columns),
  };
  for (const [k, row] of trainIds.entries())
    trainX.values.set(x.values.subarray(row * x.columns, (row + 1) * x.columns), k * x.columns);
  const trainY = Int32Array.from(trainIds, (row) => y[row] ?? 0);
  const cuts = fitBins(trainX, options.maxBins, options.seed);
  const data = binMatrix(
    trainX,
    trainIds.map((_, k) => k),
    cuts,
  );
  const n = data.rows;
  const prior = new Float64Array(classes);
  for (const label of trainY) prior[label] = (prior[label] ?? 0) + 1;
  const base = Float64Array.from(prior, (count) => Math.log((count + 1) / (n + classes)));
  const scores = new Float64Array(n * classes);
  for (let i = 0; i < n; i += 1) scores.set(base, i * classes);
  const stopScores = stopX ? new Float64Array(stopX.rows * classes) : undefined;
  if (stopX && stopScores) for (let i = 0; i < stopX.rows; i += 1) stopScores.set(base, i * classes);
  const gradient = new Float64Array(n);
  const hessian = new Float64Array(n);
  const probabilities = new Float64Array(n * classes);
  const nodeOf = new Int32Array(n);
  const allFeatures = Array.from({ length: x.columns }, (_, f) => f);
  const perTree = Math.max(1, Math.round(options.featureShare * x.columns));
  const trees: RegressionTree[][] = [];
  const losses: number[] = [];
  let bestLoss = Infinity;
  let bestRounds = 0;
  for (let round = 0; round < options.rounds; round += 1) {
    for (let i = 0; i < n; i += 1)
      probabilities.set(softmaxInPlace(scores.slice(i * classes, (i + 1) * classes)), i * classes);
    const roundTrees: RegressionTree[] = [];
    for (let c = 0; c < classes; c += 1) {
      for (let i = 0; i < n; i += 1) {
        const p = probabilities[i * classes + c] ?? 0;
        gradient[i] = p - (trainY[i] === c ? 1 : 0);
        hessian[i] = Math.max(p * (1 - p), 1e-6);
      }
      const features = Int32Array.from(
        perTree === x.columns
          ? allFeatures
          : shuffle([...allFeatures], random)
              .slice(0, perTree)
              .sort((a, b) => a - b),
      );
      const tree = growTree(data, cuts, gradient, hessian, features, options, nodeOf);
      for (let i = 0; i < n; i += 1)
        scores[i * classes + c] = (scores[i * classes + c] ?? 0) + (tree.value[nodeOf[i] ?? 0] ?? 0);
      roundTrees.push(tree);
    }
    trees.push(roundTrees);
    if (!stopX || !stopY || !stopScores) {
      bestRounds = trees.length;
      args.onRound?.(round + 1, Number.NaN);
      continue;
    }
    let loss = 0;
    for (let i = 0; i < stopX.rows; i += 1) {
      for (let c = 0; c < classes; c += 1)
        stopScores[i * classes + c] =
          (stopScores[i * classes + c] ?? 0) +
          treeValue(roundTrees[c] as RegressionTree, stopX.values, i * x.columns);
      const p = softmaxInPlace(stopScores.slice(i * classes, (i + 1) * classes));
      loss -= Math.log(Math.max(1e-15, p[stopY[i] ?? 0] ?? 0));
    }
    loss /= stopX.rows;
    losses.push(loss);
    args.onRound?.(round + 1, loss);
    if (loss < bestLoss - 1e-9) {
      bestLoss = loss;
      bestRounds = trees.length;
    } else if (trees.length - bestRounds >= options.earlyStoppingRounds) break;
  }
  return {
    classes,
    columns: x.columns,
    base,
    trees: trees.slice(0, bestRounds),
    earlyStoppingLoss: losses.slice(0, bestRounds),
  };
}
