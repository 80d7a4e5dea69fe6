import { seededRandom, shuffle } from './softmaxRegression.js';
import type { DenseMatrix } from './boostingInput.js';

/** Feature binning for the histogram-based trees (`gradientBoosting.ts`, ADR 0040). */

/**
 * Per-feature cut points: the distinct values when there are few, otherwise values at evenly spaced
 * quantiles of (a seeded sample of) the training values; the largest value is never a cut. A value's bin
 * is the index of the first cut at or above it (so `bin <= b` exactly when `x <= cuts[b]`).
 */
export function fitBins(matrix: DenseMatrix, maxBins: number, seed: number, sample = 50_000): Float32Array[] {
  const order = Array.from({ length: matrix.rows }, (_, i) => i);
  const rows = matrix.rows > sample ? shuffle(order, seededRandom(seed)).slice(0, sample) : order;
  const cuts: Float32Array[] = [];
  const column = new Float32Array(rows.length);
  for (let f = 0; f < matrix.columns; f += 1) {
    for (const [k, row] of rows.entries()) column[k] = matrix.values[row * matrix.columns + f] ?? 0;
    const sorted = Float32Array.from(column).sort();
    const distinct: number[] = [];
    for (const value of sorted)
      if (distinct.length === 0 || value !== distinct[distinct.length - 1]) distinct.push(value);
    let chosen: number[];
    if (distinct.length <= maxBins) chosen = distinct.slice(0, -1);
    else {
      chosen = [];
      for (let b = 1; b < maxBins; b += 1) {
        const value = sorted[Math.floor((b * sorted.length) / maxBins) - 1] ?? 0;
        if (value !== chosen[chosen.length - 1] && value < (distinct[distinct.length - 1] ?? 0))
          chosen.push(value);
      }
    }
    cuts.push(Float32Array.from(chosen));
  }
  return cuts;
}

export function binOf(cuts: Float32Array, value: number): number {
  let low = 0;
  let high = cuts.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (value <= (cuts[mid] ?? 0)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Training data cut into bins: row-major bins for routing, per-feature sparse lists for histograms. */
export interface Binned {
  rows: number;
  columns: number;
  bins: Uint8Array;
  binCount: Int32Array;
  offset: Int32Array;
  totalBins: number;
  /** Per feature, the rows whose bin is not the feature's most frequent bin, and their bins. */
  sparseRows: Int32Array[];
  sparseBins: Uint8Array[];
  defaultBin: Uint8Array;
}

export function binMatrix(matrix: DenseMatrix, rowIds: readonly number[], cuts: Float32Array[]): Binned {
  const n = rowIds.length;
  const m = matrix.columns;
  const bins = new Uint8Array(n * m);
  const binCount = Int32Array.from(cuts, (c) => c.length + 1);
  const offset = new Int32Array(m);
  let totalBins = 0;
  for (let f = 0; f < m; f += 1) {
    offset[f] = totalBins;
    totalBins += binCount[f] ?? 0;
  }
  for (const [i, row] of rowIds.entries())
    for (let f = 0; f < m; f += 1)
      bins[i * m + f] = binOf(cuts[f] as Float32Array, matrix.values[row * m + f] ?? 0);
  const sparseRows: Int32Array[] = [];
  const sparseBins: Uint8Array[] = [];
  const defaultBin = new Uint8Array(m);
  for (let f = 0; f < m; f += 1) {
    const counts = new Int32Array(binCount[f] ?? 1);
    for (let i = 0; i < n; i += 1) counts[bins[i * m + f] ?? 0] = (counts[bins[i * m + f] ?? 0] ?? 0) + 1;
    let common = 0;
    for (let b = 1; b < counts.length; b += 1) if ((counts[b] ?? 0) > (counts[common] ?? 0)) common = b;
    defaultBin[f] = common;
    const size = n - (counts[common] ?? 0);
    const r = new Int32Array(size);
    const b = new Uint8Array(size);
    let k = 0;
    for (let i = 0; i < n; i += 1) {
      const bin = bins[i * m + f] ?? 0;
      if (bin === common) continue;
      r[k] = i;
      b[k] = bin;
      k += 1;
    }
    sparseRows.push(r);
    sparseBins.push(b);
  }
  return { rows: n, columns: m, bins, binCount, offset, totalBins, sparseRows, sparseBins, defaultBin };
}
