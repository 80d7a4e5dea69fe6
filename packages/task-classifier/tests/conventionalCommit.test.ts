import { describe, expect, it } from 'vitest';
import { CONVENTIONAL_TYPE_MAP, parseChangelog, parseConventionalCommit } from '@cap/task-classifier';

describe('parseConventionalCommit', () => {
  const subjects = [
    'handle empty input',
    'add `--watch` flag',
    'Support Node 22',
    'avoid a crash in the parser when the input ends early',
  ];
  const scopes = ['', '(core)', '(docs)', '(deps-dev)', '(a/b)'];
  const suffixes = ['', ' (#1234)', ' (#12, #13)', ' #77'];
  const trailers = [
    '',
    '\n\nSigned-off-by: A <a@b.c>',
    '\n\nCo-authored-by: X <x@y.z>\nReviewed-by: Y <y@z.w>',
    '\n\nPR Close #4321',
    '\n\ncloses #55\nfix vuejs/core#12',
  ];

  it('strips every prefix, scope, breaking mark, PR number and trailer over generated messages', () => {
    let checked = 0;
    for (const [conventionalType, type] of Object.entries(CONVENTIONAL_TYPE_MAP)) {
      for (const subject of subjects) {
        for (const scope of scopes) {
          for (const [index, suffix] of suffixes.entries()) {
            const trailer = trailers[index % trailers.length] as string;
            const bang = index % 2 === 0 ? '' : '!';
            const body = index === 0 ? '' : `\n\nExplains why the change (#9) was needed.${trailer}`;
            const parsed = parseConventionalCommit(
              `${conventionalType}${scope}${bang}: ${subject}${suffix}${body}`,
            );
            expect(parsed).toEqual({
              conventionalType,
              type,
              ...(scope ? { scope: scope.slice(1, -1) } : {}),
              title: subject,
              description: index === 0 ? '' : 'Explains why the change was needed.',
            });
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('rejects non-conventional and release-only messages, and leaves unmapped types unlabelled', () => {
    expect(parseConventionalCommit('Update README')).toBeUndefined();
    expect(parseConventionalCommit('release: v3.4.0')).toBeUndefined();
    expect(parseConventionalCommit('chore: 1.2.3')).toBeUndefined();
    expect(parseConventionalCommit('fix: ')).toBeUndefined();
    expect(parseConventionalCommit('wip: something')).toMatchObject({ type: undefined, title: 'something' });
    expect(parseConventionalCommit('Revert "fix(x): y"')).toMatchObject({
      type: 'OTHER',
      title: 'fix(x): y',
    });
  });
});

describe('parseChangelog', () => {
  it('takes bullets under known sections, without scope, links and PR numbers', () => {
    const text = [
      '# Changelog',
      '## [2.0.0](https://x/compare/v1...v2) (2024-01-01)',
      '### Features',
      '* **parser:** accept trailing commas ([#12](https://x/issues/12)) ([abc1234](https://x/commit/abc1234))',
      '### Bug Fixes',
      '* handle empty files ([def5678](https://x/commit/def5678)), closes [#3](https://x/issues/3)',
      '### Something Else',
      '* ignored entry',
    ].join('\n');
    expect(parseChangelog(text, 'changelog:x').map(({ title, type }) => ({ title, type }))).toEqual([
      { title: 'accept trailing commas', type: 'FEATURE' },
      { title: 'handle empty files', type: 'BUG_FIX' },
    ]);
  });
});
