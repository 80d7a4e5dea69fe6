import type { SparseVector } from './features.js';

/** One linear softmax head: `p = softmax(x · W + b)`, `W` row-major `[features × classes]`, float32. */
export interface LinearHead {
  weights: Float32Array;
  bias: Float32Array;
  classes: number;
}

/** Hyper-parameters of one head's training (mini-batch Adam on cross-entropy with an L2 penalty). */
export interface HeadTrainingOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the weights (not the bias). */
  l2: number;
  /** 0 = every example counts the same; 1 = classes weighted inversely to their frequency; between: softer. */
  classWeightPower: number;
  seed: number;
}

/** mulberry32: a small seeded PRNG, so training reproduces exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher–Yates shuffle driven by `random`. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Class probabilities of one row, computed in double precision from the float32 parameters. */
export function predictProbabilities(head: LinearHead, row: SparseVector): Float64Array {
  const { classes, weights, bias } = head;
  const logits = Float64Array.from(bias);
  for (let k = 0; k < row.indices.length; k += 1) {
    const offset = (row.indices[k] ?? 0) * classes;
    const value = row.values[k] ?? 0;
    for (let c = 0; c < classes; c += 1) logits[c] = (logits[c] ?? 0) + value * (weights[offset + c] ?? 0);
  }
  return softmax(logits);
}

function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (let c = 0; c < logits.length; c += 1) {
    const e = Math.exp((logits[c] ?? 0) - max);
    logits[c] = e;
    sum += e;
  }
  for (let c = 0; c < logits.length; c += 1) logits[c] = (logits[c] ?? 0) / sum;
  return logits;
}

/**
 * Trains one head. `targets[i]` is the class of `rows[i]`, or -1 when that example has no label for this
 * head (it is then skipped). Calls `onEpoch` after every epoch with the mean training loss.
 */
export function trainHead(
  rows: readonly SparseVector[],
  targets: Int32Array,
  width: number,
  classes: number,
  options: HeadTrainingOptions,
  onEpoch?: (epoch: number, loss: number) => void,
): LinearHead {
  const labelled: number[] = [];
  const counts = new Float64Array(classes);
  for (let i = 0; i < targets.length; i += 1) {
    const target = targets[i] ?? -1;
    if (target < 0) continue;
    labelled.push(i);
    counts[target] = (counts[target] ?? 0) + 1;
  }
  const classWeight = Float64Array.from(counts, (count) =>
    count === 0 ? 0 : Math.pow(labelled.length / (classes * count), options.classWeightPower),
  );
  const meanWeight =
    labelled.reduce((sum, i) => sum + (classWeight[targets[i] ?? 0] ?? 0), 0) / Math.max(1, labelled.length);
  for (let c = 0; c < classes; c += 1) classWeight[c] = (classWeight[c] ?? 0) / (meanWeight || 1);

  const size = width * classes;
  const weights = new Float64Array(size);
  const bias = new Float64Array(classes);
  const m = new Float64Array(size + classes);
  const v = new Float64Array(size + classes);
  const gradient = new Float64Array(size + classes);
  const random = seededRandom(options.seed);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  const order = [...labelled];
  for (let epoch = 0; epoch < options.epochs; epoch += 1) {
    shuffle(order, random);
    // Linear decay to a tenth of the rate: large steps first, fine convergence at the end.
    const rate = options.learningRate * (1 - (0.9 * epoch) / Math.max(1, options.epochs));
    let lossSum = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      gradient.fill(0);
      for (const i of batch) {
        const row = rows[i] as SparseVector;
        const target = targets[i] ?? 0;
        const probabilities = predictDense(weights, bias, classes, row);
        const weight = classWeight[target] ?? 1;
        lossSum += -weight * Math.log(Math.max(1e-12, probabilities[target] ?? 0));
        for (let c = 0; c < classes; c += 1) {
          const delta = weight * ((probabilities[c] ?? 0) - (c === target ? 1 : 0));
          gradient[size + c] = (gradient[size + c] ?? 0) + delta;
          for (let k = 0; k < row.indices.length; k += 1) {
            const index = (row.indices[k] ?? 0) * classes + c;
            gradient[index] = (gradient[index] ?? 0) + delta * (row.values[k] ?? 0);
          }
        }
      }
      step += 1;
      const scale = 1 / batch.length;
      const correction1 = 1 - Math.pow(beta1, step);
      const correction2 = 1 - Math.pow(beta2, step);
      for (let index = 0; index < size + classes; index += 1) {
        const isBias = index >= size;
        const parameter = isBias ? (bias[index - size] ?? 0) : (weights[index] ?? 0);
        const g = (gradient[index] ?? 0) * scale + (isBias ? 0 : options.l2 * parameter);
        const mi = beta1 * (m[index] ?? 0) + (1 - beta1) * g;
        const vi = beta2 * (v[index] ?? 0) + (1 - beta2) * g * g;
        m[index] = mi;
        v[index] = vi;
        const updated = parameter - (rate * (mi / correction1)) / (Math.sqrt(vi / correction2) + 1e-8);
        if (isBias) bias[index - size] = updated;
        else weights[index] = updated;
      }
    }
    onEpoch?.(epoch, lossSum / Math.max(1, order.length));
  }
  return { weights: Float32Array.from(weights), bias: Float32Array.from(bias), classes };
}

function predictDense(
  weights: Float64Array,
  bias: Float64Array,
  classes: number,
  row: SparseVector,
): Float64Array {
  const logits = Float64Array.from(bias);
  for (let k = 0; k < row.indices.length; k += 1) {
    const offset = (row.indices[k] ?? 0) * classes;
    const value = row.values[k] ?? 0;
    for (let c = 0; c < classes; c += 1) logits[c] = (logits[c] ?? 0) + value * (weights[offset + c] ?? 0);
  }
  return softmax(logits);
}
