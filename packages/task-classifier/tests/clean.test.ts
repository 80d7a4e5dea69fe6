import { describe, expect, it } from 'vitest';
import {
  cleanCorpus,
  DEFAULT_CLEANING,
  isDependencyUpdate,
  isMultiTypeSquash,
  pathKind,
  relabelled,
  type CorpusExample,
} from '@cap/task-classifier';

function example(overrides: Partial<CorpusExample>): CorpusExample {
  return {
    title: 'handle empty input',
    description: '',
    type: 'BUG_FIX',
    complexity: 'SIMPLE',
    group: 'acme/app',
    ref: 'abc',
    bot: false,
    conventionalType: 'fix',
    changed: 'code',
    ...overrides,
  };
}

describe('isDependencyUpdate', () => {
  it('recognises dependency updates over generated subjects and scopes', () => {
    const names = ['vite', '@types/node', 'typescript-eslint monorepo', 'actions/checkout'];
    const versions = ['v5', '5.2.1', '^3.0.0'];
    let checked = 0;
    for (const name of names) {
      for (const version of versions) {
        for (const subject of [
          `update dependency ${name} to ${version}`,
          `bump ${name} from 1.0.0 to ${version.replace(/^[v^]/, '')}`,
          `upgrade dependencies`,
          `update ${name} to ${version}`,
        ]) {
          expect(isDependencyUpdate({ title: subject, scope: undefined }), subject).toBe(true);
          checked += 1;
        }
      }
    }
    for (const scope of ['deps', 'deps-dev', 'dependencies'])
      expect(isDependencyUpdate({ title: 'anything at all', scope })).toBe(true);
    expect(checked).toBeGreaterThan(40);
  });

  it('leaves ordinary work alone', () => {
    for (const subject of [
      'update the docs for the router',
      'handle dependency cycles in the resolver',
      'bump the retry count when the socket closes',
      'add `--watch` flag',
      'update snapshot after the parser change',
    ])
      expect(isDependencyUpdate({ title: subject, scope: 'core' }), subject).toBe(false);
  });
});

describe('relabelled', () => {
  it('relabels by scope and by what the diff touched, never a revert', () => {
    expect(relabelled(example({ scope: 'docs' }))).toBe('DOCUMENTATION');
    expect(relabelled(example({ scope: 'e2e' }))).toBe('TEST');
    expect(relabelled(example({ scope: 'ci' }))).toBe('CHORE');
    expect(relabelled(example({ type: 'FEATURE', scope: 'ci' }))).toBe('FEATURE');
    expect(relabelled(example({ changed: 'docs' }))).toBe('DOCUMENTATION');
    expect(relabelled(example({ type: 'FEATURE', changed: 'tests' }))).toBe('TEST');
    expect(relabelled(example({ changed: 'mixed' }))).toBe('BUG_FIX');
    expect(relabelled(example({ type: 'OTHER', changed: 'docs', scope: 'docs' }))).toBe('OTHER');
  });
});

describe('pathKind', () => {
  it('classifies test, documentation and code paths', () => {
    expect(pathKind('packages/core/src/parser.ts')).toBe('code');
    expect(pathKind('packages/core/__tests__/parser.spec.ts')).toBe('tests');
    expect(pathKind('src/parser.test.tsx')).toBe('tests');
    expect(pathKind('internal/pipe/pipe_test.go')).toBe('tests');
    expect(pathKind('test/fixtures/readme.md')).toBe('tests');
    expect(pathKind('docs/guide/index.md')).toBe('docs');
    expect(pathKind('README.md')).toBe('docs');
    expect(pathKind('website/sidebars.js')).toBe('docs');
    expect(pathKind('package.json')).toBe('code');
  });
});

describe('cleanCorpus', () => {
  it('drops bots and dependency updates, relabels, and counts what it did', () => {
    const examples = [
      example({}),
      example({ bot: true, title: 'update dependency vite to v5', scope: 'deps' }),
      example({ title: 'bump foo from 1.0.0 to 1.0.1', conventionalType: 'chore', type: 'CHORE' }),
      example({ scope: 'docs' }),
      example({ type: 'OTHER', conventionalType: 'revert' }),
    ];
    const result = cleanCorpus(examples, DEFAULT_CLEANING);
    expect(result.dropped).toEqual({ bots: 1, dependencyUpdates: 1, reverts: 0, multiType: 0 });
    expect(result.relabelled).toBe(1);
    expect(result.examples.map((kept) => kept.type)).toEqual(['BUG_FIX', 'DOCUMENTATION', 'OTHER']);
    expect(examples[3]?.type).toBe('BUG_FIX');
    const off = cleanCorpus(examples, {
      dropBots: false,
      dropDependencyUpdates: false,
      dropReverts: true,
      relabel: false,
    });
    expect(off.examples).toHaveLength(4);
    expect(off.dropped.reverts).toBe(1);
  });
});

describe('isMultiTypeSquash', () => {
  it('recognises bodies that list subjects of several types, in every list style', () => {
    for (const bullet of ['* ', '- ', '']) {
      const body = `${bullet}feat(core): add a cache\n${bullet}fix: handle empty keys\n${bullet}docs: explain it`;
      expect(isMultiTypeSquash({ description: body, conventionalType: 'feat' }), body).toBe(true);
    }
    // One listed subject of another type than the commit's own is already two kinds of work.
    expect(isMultiTypeSquash({ description: '* test: cover the parser', conventionalType: 'fix' })).toBe(
      true,
    );
  });

  it('keeps bodies whose listed subjects are all of the commit type, and prose', () => {
    expect(isMultiTypeSquash({ description: '* fix: a\n* fix(core): b', conventionalType: 'fix' })).toBe(
      false,
    );
    for (const body of [
      '',
      'This fixes the crash: the cache was empty.',
      'Note: feature flags are read once.',
      'prefix: fix: nested',
    ])
      expect(isMultiTypeSquash({ description: body, conventionalType: 'fix' }), body).toBe(false);
  });

  it('is dropped by cleanCorpus only when asked', () => {
    const squash = example({ description: '* feat: a\n* fix: b' });
    expect(cleanCorpus([squash], DEFAULT_CLEANING).dropped.multiType).toBe(
      DEFAULT_CLEANING.dropMultiType ? 1 : 0,
    );
    const result = cleanCorpus([squash, example({})], { ...DEFAULT_CLEANING, dropMultiType: true });
    expect(result.dropped.multiType).toBe(1);
    expect(result.examples).toHaveLength(1);
  });
});
