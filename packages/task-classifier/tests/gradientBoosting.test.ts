import { describe, expect, it } from 'vitest';
import {
  BoostingInputError,
  boostedProbabilities,
  fitBins,
  seededRandom,
  trainBoosted,
  type DenseMatrix,
} from '@cap/task-classifier';

/** Generated rows: `columns` uniform features; the label is an axis-aligned rule on two of them. */
function generate(rows: number, columns: number, seed: number, rule: (row: Float32Array) => number) {
  const random = seededRandom(seed);
  const values = new Float32Array(rows * columns);
  for (let i = 0; i < values.length; i += 1) values[i] = random();
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i += 1) y[i] = rule(values.subarray(i * columns, (i + 1) * columns));
  return { x: { rows, columns, values } satisfies DenseMatrix, y };
}

function accuracy(model: ReturnType<typeof trainBoosted>, x: DenseMatrix, y: Int32Array): number {
  let right = 0;
  for (let i = 0; i < x.rows; i += 1) {
    const p = boostedProbabilities(model, x.values, i * x.columns);
    let best = 0;
    for (let c = 1; c < p.length; c += 1) if ((p[c] ?? 0) > (p[best] ?? 0)) best = c;
    if (best === y[i]) right += 1;
  }
  return right / x.rows;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof BoostingInputError) return error.code;
    throw error;
  }
  return undefined;
}

const options = { rounds: 60, learningRate: 0.3, maxDepth: 3, minLeaf: 5, earlyStoppingRounds: 10 };

describe('trainBoosted', () => {
  it('learns an axis-aligned rule on generated data, whichever features and cut points carry it', () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(100 + seed);
      const columns = 4 + Math.floor(random() * 4);
      const a = Math.floor(random() * columns);
      const b = (a + 1 + Math.floor(random() * (columns - 1))) % columns;
      const [ca, cb] = [0.2 + 0.6 * random(), 0.2 + 0.6 * random()];
      const rule = (row: Float32Array) => ((row[a] ?? 0) <= ca ? 0 : (row[b] ?? 0) <= cb ? 1 : 2);
      const train = generate(3000, columns, seed, rule);
      const test = generate(2000, columns, 1000 + seed, rule);
      const model = trainBoosted({ ...train, classes: 3, options: { ...options, seed } });
      expect(accuracy(model, test.x, test.y), `seed ${seed}`).toBeGreaterThan(0.97);
      // Only the two features of the rule are ever split on near the root.
      for (const round of model.trees.slice(0, 3))
        for (const tree of round) expect([a, b, -1]).toContain(tree.feature[0]);
    }
  });

  it('gives the same trees for the same seed, bit for bit', () => {
    const data = generate(1500, 5, 7, (row) => ((row[0] ?? 0) + (row[3] ?? 0) > 1 ? 1 : 0));
    const run = (seed: number) =>
      trainBoosted({ ...data, classes: 2, options: { ...options, featureShare: 0.6, seed } });
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('stops early on the held-out fold and keeps only the rounds up to its best loss', () => {
    // Labels are noise: the early-stopping loss cannot keep improving, so training stops long before 200.
    const random = seededRandom(5);
    const data = generate(2000, 3, 9, () => (random() < 0.5 ? 0 : 1));
    const model = trainBoosted({
      ...data,
      classes: 2,
      options: { ...options, rounds: 200, learningRate: 0.5 },
    });
    expect(model.trees.length).toBeLessThan(200);
    expect(model.earlyStoppingLoss).toHaveLength(model.trees.length);
    const best = Math.min(...model.earlyStoppingLoss);
    expect(model.earlyStoppingLoss[model.earlyStoppingLoss.length - 1]).toBe(best);
  });

  it('refuses a NaN or an infinity anywhere in the matrix with GBDT_NOT_FINITE', () => {
    const random = seededRandom(21);
    for (let trial = 0; trial < 20; trial += 1) {
      const data = generate(50, 4, trial, (row) => ((row[0] ?? 0) > 0.5 ? 1 : 0));
      const at = Math.floor(random() * data.x.values.length);
      data.x.values[at] = [Number.NaN, Infinity, -Infinity][trial % 3] as number;
      expect(codeOf(() => trainBoosted({ ...data, classes: 2, options }))).toBe('GBDT_NOT_FINITE');
    }
  });

  it('refuses empty or misshapen input and labels outside the classes, each with its code', () => {
    const data = generate(40, 3, 1, (row) => ((row[1] ?? 0) > 0.5 ? 1 : 0));
    const empty = { rows: 0, columns: 3, values: new Float32Array(0) };
    expect(codeOf(() => trainBoosted({ x: empty, y: new Int32Array(0), classes: 2 }))).toBe(
      'GBDT_EMPTY_INPUT',
    );
    const short = { ...data.x, values: data.x.values.subarray(1) };
    expect(codeOf(() => trainBoosted({ x: short, y: data.y, classes: 2 }))).toBe('GBDT_SHAPE_MISMATCH');
    expect(codeOf(() => trainBoosted({ x: data.x, y: data.y.subarray(1), classes: 2 }))).toBe(
      'GBDT_SHAPE_MISMATCH',
    );
    for (const label of [-1, 2, 99]) {
      const y = Int32Array.from(data.y);
      y[7] = label;
      expect(codeOf(() => trainBoosted({ x: data.x, y, classes: 2 }))).toBe('GBDT_BAD_LABEL');
    }
    expect(codeOf(() => trainBoosted({ ...data, classes: 1 }))).toBe('GBDT_BAD_OPTION');
    expect(codeOf(() => trainBoosted({ ...data, classes: 2, options: { maxBins: 256 } }))).toBe(
      'GBDT_BAD_OPTION',
    );
  });
});

describe('fitBins', () => {
  it('cuts every feature into at most maxBins bins, with cuts ascending and below the largest value', () => {
    const random = seededRandom(3);
    for (const maxBins of [2, 16, 255]) {
      const data = generate(5000, 3, maxBins, () => 0);
      // One feature with few distinct values: one cut between each pair of them.
      for (let i = 0; i < data.x.rows; i += 1) data.x.values[i * 3 + 2] = Math.floor(random() * 5);
      const cuts = fitBins(data.x, maxBins, 1);
      for (const [f, featureCuts] of cuts.entries()) {
        expect(featureCuts.length + 1).toBeLessThanOrEqual(maxBins);
        for (let k = 1; k < featureCuts.length; k += 1)
          expect(featureCuts[k] as number).toBeGreaterThan(featureCuts[k - 1] as number);
        let max = -Infinity;
        for (let i = 0; i < data.x.rows; i += 1) max = Math.max(max, data.x.values[i * 3 + f] ?? 0);
        for (const cut of featureCuts) expect(cut).toBeLessThan(max);
      }
      // Five distinct values fit in 16 or 255 bins (a cut after each but the last); two bins cut at the median.
      expect(Array.from(cuts[2] ?? [])).toEqual(maxBins >= 5 ? [0, 1, 2, 3] : [2]);
    }
  });
});
