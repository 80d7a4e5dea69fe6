import { describe, expect, it } from 'vitest';
import { fitFeatures, termIndex, vectorize, type FeatureSpec } from '@cap/task-classifier';

const texts = [
  { title: 'handle empty sidebar', description: 'The sidebar crashed when the list was empty and long.' },
  { title: 'add a streaming endpoint', description: 'Streams results as they arrive from the list.' },
  { title: 'handle empty input', description: 'Empty input crashed the parser when the list was long.' },
  { title: 'add a cache', description: '' },
];
const vocabulary = { titleWords: 100, descriptionWords: 100, titleChars: 100, minDocumentFrequency: 1 };

/** Squared length of the title block and of the description block of one vector. */
function blockNorms(spec: FeatureSpec, text: (typeof texts)[number]): { title: number; description: number } {
  const { vector } = vectorize(spec, termIndex(spec), text);
  const norms = { title: 0, description: 0 };
  for (let k = 0; k < vector.indices.length; k += 1) {
    const term = spec.terms[vector.indices[k] ?? 0];
    if (term === undefined) continue; // a signal
    const value = vector.values[k] ?? 0;
    if (/^[de]:/.test(term)) norms.description += value * value;
    else norms.title += value * value;
  }
  return norms;
}

describe('vectorize', () => {
  it('scales all terms to unit length together when the spec has no description weight', () => {
    const spec = fitFeatures(texts, vocabulary);
    expect(spec.descriptionWeight).toBeUndefined();
    for (const text of texts) {
      const norms = blockNorms(spec, text);
      expect(norms.title + norms.description).toBeCloseTo(1, 5);
    }
  });

  it('scales the title and the description apart, the description by its weight', () => {
    for (const weight of [0.25, 0.5, 1]) {
      const spec = fitFeatures(texts, { ...vocabulary, descriptionWeight: weight });
      expect(spec.descriptionWeight).toBe(weight);
      for (const text of texts) {
        const norms = blockNorms(spec, text);
        expect(norms.title).toBeCloseTo(1, 5);
        expect(norms.description).toBeCloseTo(text.description ? weight * weight : 0, 5);
      }
    }
  });

  it('gives an empty vector block, not NaN, for text with no known term', () => {
    const spec = fitFeatures(texts, { ...vocabulary, descriptionWeight: 0.5 });
    const { vector, knownTerms } = vectorize(spec, termIndex(spec), { title: 'zzzz', description: 'qqqq' });
    expect(knownTerms).toBe(0);
    for (const value of vector.values) expect(Number.isFinite(value)).toBe(true);
  });
});
