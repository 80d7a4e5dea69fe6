import { describe, expect, it } from 'vitest';
import {
  complexityOf,
  countsTowardsSize,
  evaluate,
  groupSplit,
  headMetrics,
  pickValidationGroups,
  majorityPredictor,
  stratifiedSplit,
  type Example,
} from '@cap/task-classifier';

describe('headMetrics', () => {
  it('computes accuracy, macro-F1 over present classes and the confusion matrix', () => {
    const metrics = headMetrics(
      ['A', 'B', 'C'],
      [
        [0, 0],
        [0, 1],
        [1, 1],
        [1, 1],
      ],
    );
    expect(metrics.accuracy).toBe(0.75);
    expect(metrics.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [0, 0, 0],
    ]);
    // F1(A) = 2/3, F1(B) = 4/5; C has no example and no prediction, so it is left out.
    expect(metrics.macroF1).toBeCloseTo((2 / 3 + 4 / 5) / 2, 10);
  });
});

describe('complexityOf', () => {
  it('follows the definition at every boundary', () => {
    for (let files = 0; files <= 8; files += 1) {
      for (const lines of [0, 1, 20, 21, 200, 201, 5000]) {
        const expected =
          files <= 1 && lines <= 20 ? 'SIMPLE' : files <= 5 && lines <= 200 ? 'MEDIUM' : 'COMPLEX';
        expect(complexityOf({ files, lines })).toBe(expected);
      }
    }
  });

  it('does not count lockfiles, snapshots, build output or generated files', () => {
    for (const path of [
      'package-lock.json',
      'a/pnpm-lock.yaml',
      'yarn.lock',
      'src/__snapshots__/a.ts.snap',
      'dist/index.js',
      'x.min.js',
      'CHANGELOG.md',
      'src/generated/schema.ts',
    ]) {
      expect(countsTowardsSize(path)).toBe(false);
    }
    for (const path of ['src/index.ts', 'README.md', 'package.json', 'docs/guide.md'])
      expect(countsTowardsSize(path)).toBe(true);
  });
});

describe('stratifiedSplit', () => {
  const examples: Example[] = Array.from({ length: 1000 }, (_, index) => ({
    title: `t${index}`,
    description: '',
    type: index % 10 < 7 ? 'BUG_FIX' : 'FEATURE',
    complexity: index % 4 === 0 ? 'COMPLEX' : 'SIMPLE',
    group: 'g',
  }));

  it('keeps every label share in every split, uses each example once, and is deterministic for a seed', () => {
    const split = stratifiedSplit(examples, 0.1, 0.2, 1);
    expect(split.train.length + split.validation.length + split.test.length).toBe(1000);
    expect(new Set([...split.train, ...split.validation, ...split.test]).size).toBe(1000);
    for (const part of [split.train, split.validation, split.test]) {
      const share = part.filter((example) => example.type === 'BUG_FIX').length / part.length;
      expect(share).toBeGreaterThan(0.68);
      expect(share).toBeLessThan(0.72);
    }
    expect(stratifiedSplit(examples, 0.1, 0.2, 1).test.map((example) => example.title)).toEqual(
      split.test.map((example) => example.title),
    );
  });

  it('scores the majority baseline as the share of the most frequent class', async () => {
    const result = await evaluate(majorityPredictor(examples), examples);
    expect(result.type.accuracy).toBeCloseTo(0.7, 10);
    expect(result.complexity.accuracy).toBeCloseTo(0.75, 10);
  });
});

describe('repository-grouped validation', () => {
  const groups = Array.from({ length: 12 }, (_, index) => `owner/repo-${index}`);
  const examples: Example[] = Array.from({ length: 600 }, (_, index) => ({
    title: `t${index}`,
    description: '',
    type: 'BUG_FIX',
    group: groups[index % groups.length] as string,
  }));

  it('holds whole groups out, never splitting one, deterministically for a seed', () => {
    for (const seed of [1, 2, 3, 42]) {
      const picked = pickValidationGroups(
        examples.map((example) => example.group),
        3,
        seed,
      );
      expect(picked.size).toBe(3);
      expect(pickValidationGroups([...groups].reverse(), 3, seed)).toEqual(picked);
      const split = groupSplit(examples, picked);
      expect(split.train.length + split.validation.length).toBe(600);
      expect(split.validation.every((example) => picked.has(example.group))).toBe(true);
      expect(split.train.some((example) => picked.has(example.group))).toBe(false);
    }
    expect(pickValidationGroups(groups, 3, 1)).not.toEqual(pickValidationGroups(groups, 3, 2));
  });
});
