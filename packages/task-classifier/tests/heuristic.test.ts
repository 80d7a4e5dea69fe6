import { describe, expect, it } from 'vitest';
import { heuristicComplexity, heuristicType } from '@cap/task-classifier';

describe('heuristicType', () => {
  it.each([
    ['Fix typo in the installation guide', '', 'DOCUMENTATION', 'typo'],
    ['The flaky checkout test fails on CI', '', 'TEST', 'flaky-test'],
    ['bump eslint to 9.39.1', '', 'CHORE', 'dependency-bump'],
    [
      'Checkout page blank',
      'TypeError: x is undefined\n    at render (src/checkout.ts:10:3)',
      'BUG_FIX',
      'stack-trace',
    ],
    ['Add endpoint for invoice export', '', 'FEATURE', 'feature-words'],
    ['Refactor the payment service', '', 'REFACTOR', 'refactor-words'],
    ['Revert "add endpoint for invoices"', '', 'OTHER', 'revert'],
  ])('%s → %s', (title, description, label, rule) => {
    expect(heuristicType({ title, description })).toMatchObject({ label, rule });
  });

  it('answers every generated input with a label and a confidence in 0..1', () => {
    const pieces = [
      'fix',
      'add',
      'test',
      'docs',
      'refactor',
      'bump',
      '',
      '🙂',
      'at x (a.js:1:2)',
      'src/a.ts',
      '修复',
      '\u0000',
      'typo',
    ];
    for (const a of pieces) {
      for (const b of pieces) {
        for (const answer of [
          heuristicType({ title: `${a} ${b}`, description: `${b}\n${a}` }),
          heuristicComplexity({ title: `${a} ${b}`, description: `${b}\n${a}` }),
        ]) {
          expect(answer.confidence).toBeGreaterThan(0);
          expect(answer.confidence).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('stays fast on adversarial long lines (no catastrophic backtracking)', () => {
    const long = `at ${'a'.repeat(19_000)}:`;
    const started = performance.now();
    heuristicType({ title: 'x', description: long });
    heuristicComplexity({ title: 'x', description: `${'src/'.repeat(4_000)}` });
    // Generous: linear-time regexes take milliseconds; a quadratic one takes far longer.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('heuristicComplexity', () => {
  it.each([
    ['Fix typo in README', '', 'SIMPLE'],
    ['Migrate every package to ESM', '', 'COMPLEX'],
    ['Update header colour', 'Change it in src/header.css', 'SIMPLE'],
    ['Make the build faster', 'touch src/a.ts, src/b.ts and src/c.ts', 'MEDIUM'],
  ])('%s → %s', (title, description, label) => {
    expect(heuristicComplexity({ title, description }).label).toBe(label);
  });
});
