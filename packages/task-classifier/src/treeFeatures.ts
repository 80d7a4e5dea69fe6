import type { TaskText } from './examples.js';
import { termCounts } from './features.js';
import type { DenseMatrix } from './boostingInput.js';
import { SIGNAL_NAMES, signals } from './text.js';

/**
 * Dense inputs for the boosted trees (ADR 0040): sparse TF-IDF is far too wide for trees, so a text becomes
 * its text statistics and code signals (`text.signals`), one 0/1 indicator per selected term (the terms of
 * `features.termCounts` that tell the most about a head's label), and optionally extra columns given by the
 * caller (a linear model's out-of-fold class probabilities, for stacking).
 */
export interface TreeFeatureSpec {
  /** Selected terms, in column order after the signals. */
  terms: string[];
  /** Number of extra columns the caller appends after the indicators. */
  extra: number;
}

/** Column names of a spec, in order. */
export function treeFeatureNames(spec: TreeFeatureSpec): string[] {
  return [
    ...SIGNAL_NAMES,
    ...spec.terms.map((term) => `has ${term}`),
    ...Array.from({ length: spec.extra }, (_, k) => `extra ${k}`),
  ];
}

/** Mutual information (nats) between "the text has the term" and the label, from class counts. */
function mutualInformation(withTerm: Int32Array, classTotals: Float64Array, total: number): number {
  let present = 0;
  for (const count of withTerm) present += count;
  let information = 0;
  for (let c = 0; c < classTotals.length; c += 1) {
    const pc = (classTotals[c] ?? 0) / total;
    if (pc === 0) continue;
    for (const [joint, marginal] of [
      [withTerm[c] ?? 0, present],
      [(classTotals[c] ?? 0) - (withTerm[c] ?? 0), total - present],
    ] as const) {
      if (joint === 0 || marginal === 0) continue;
      const pj = joint / total;
      information += pj * Math.log(pj / ((marginal / total) * pc));
    }
  }
  return information;
}

/**
 * Picks, for each head, the `perHead` terms with the highest mutual information with that head's label
 * (terms in at least `minDocumentFrequency` texts), and returns their union, sorted. `labels[h][i]` is
 * text `i`'s class for head `h`, or -1 when it has none. Deterministic: ties break alphabetically.
 */
export function selectIndicatorTerms(
  texts: readonly TaskText[],
  labels: readonly { targets: Int32Array; classes: number }[],
  perHead: number,
  minDocumentFrequency = 20,
): string[] {
  const documentFrequency = new Map<string, number>();
  for (const text of texts)
    for (const term of termCounts(text).keys())
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  const kept = new Map<string, number>();
  for (const [term, df] of documentFrequency) if (df >= minDocumentFrequency) kept.set(term, kept.size);
  const chosen = new Set<string>();
  for (const { targets, classes } of labels) {
    const counts = new Int32Array(kept.size * classes);
    const totals = new Float64Array(classes);
    let total = 0;
    for (const [i, text] of texts.entries()) {
      const target = targets[i] ?? -1;
      if (target < 0) continue;
      totals[target] = (totals[target] ?? 0) + 1;
      total += 1;
      for (const term of termCounts(text).keys()) {
        const column = kept.get(term);
        if (column !== undefined)
          counts[column * classes + target] = (counts[column * classes + target] ?? 0) + 1;
      }
    }
    const scored = [...kept].map(
      ([term, column]) =>
        [
          term,
          mutualInformation(counts.subarray(column * classes, (column + 1) * classes), totals, total),
        ] as const,
    );
    scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [term] of scored.slice(0, perHead)) chosen.add(term);
  }
  return [...chosen].sort();
}

/** One text's dense row: signals, term indicators, then `extra` (length `spec.extra`). */
export function treeRow(
  spec: TreeFeatureSpec,
  index: ReadonlyMap<string, number>,
  text: TaskText,
  extra: ArrayLike<number> = [],
  out = new Float32Array(SIGNAL_NAMES.length + spec.terms.length + spec.extra),
): Float32Array {
  out.fill(0);
  out.set(signals(text.title, text.description), 0);
  for (const term of termCounts(text).keys()) {
    const column = index.get(term);
    if (column !== undefined) out[SIGNAL_NAMES.length + column] = 1;
  }
  for (let k = 0; k < spec.extra; k += 1) out[SIGNAL_NAMES.length + spec.terms.length + k] = extra[k] ?? 0;
  return out;
}

/** All texts' rows as one matrix; `extra(i)` gives text `i`'s extra columns. */
export function treeMatrix(
  spec: TreeFeatureSpec,
  texts: readonly TaskText[],
  extra: (i: number) => ArrayLike<number> = () => [],
): DenseMatrix {
  const index = new Map(spec.terms.map((term, column) => [term, column]));
  const columns = SIGNAL_NAMES.length + spec.terms.length + spec.extra;
  const values = new Float32Array(texts.length * columns);
  for (const [i, text] of texts.entries())
    treeRow(spec, index, text, extra(i), values.subarray(i * columns, (i + 1) * columns));
  return { rows: texts.length, columns, values };
}
