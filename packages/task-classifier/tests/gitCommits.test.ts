import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGitCommits, readGitCommitsCached } from '@cap/task-classifier';
import { createFixtureRepo, type FixtureRepo } from './fixtureRepo.js';

describe('readGitCommits on a mirror with missing blobs', () => {
  it('skips the commits whose diff it cannot read and leaves those paths out of the others', async () => {
    const repo = createFixtureRepo([
      { message: 'feat: add the widget', files: { 'src/widget.ts': 10, 'assets/huge.bin.txt': 300 } },
      { message: 'fix: handle empty widgets', files: { 'src/widget.ts': 12 } },
      { message: 'chore: regenerate the huge asset', files: { 'assets/huge.bin.txt': 400 } },
      { message: 'docs: describe the widget', files: { 'README.md': 5, 'assets/huge.bin.txt': 500 } },
    ]);
    try {
      // Delete the blob of the asset's second version, as a snapshot mirror without its largest files would lack it.
      const blob = execFileSync('git', ['rev-parse', `${repo.shas[2]}:assets/huge.bin.txt`], {
        cwd: repo.dir,
        encoding: 'utf8',
      }).trim();
      rmSync(join(repo.gitDir, 'objects', blob.slice(0, 2), blob.slice(2)));
      const result = await readGitCommits(
        { repo: 'acme/partial', gitDir: repo.gitDir },
        { maxExamples: 10, maxCommits: 10, maxBotShare: 1 },
      );
      const byTitle = new Map(result.examples.map((example) => [example.title, example]));
      // Both the commit that wrote the missing blob and the one that replaced it are unreadable.
      expect([...byTitle.keys()].sort()).toEqual(['add the widget', 'handle empty widgets']);
      // Without the unreadable path, the first commit is one file of 10 lines (with it, 310 lines: COMPLEX).
      expect(byTitle.get('add the widget')?.complexity).toBe('SIMPLE');
    } finally {
      repo.remove();
    }
  });
});

describe('readGitCommits', () => {
  let repo: FixtureRepo;

  beforeAll(() => {
    repo = createFixtureRepo([
      { message: 'chore: initial commit', files: { 'README.md': 3 } },
      {
        message:
          'fix(docs): handle empty sidebar (#1234)\n\nThe sidebar crashed when empty.\n\nfix #99\nSigned-off-by: A <a@example.com>\nCo-authored-by: B <b@example.com>',
        files: { 'src/sidebar.ts': 10 },
      },
      {
        message: 'feat(api)!: add a streaming endpoint',
        files: { 'src/a.ts': 100, 'src/b.ts': 50, 'package-lock.json': 5000 },
      },
      { message: 'Merge-like but not conventional: tidy things', files: { 'src/c.ts': 4 } },
      {
        message: 'docs: explain the cache',
        files: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`docs/page${i}.md`, 10])),
      },
      {
        message: 'chore(deps): update dependency vite to v5.0.1',
        files: { 'package.json': 2 },
        author: 'renovate[bot]',
      },
      {
        message: 'chore(deps): update dependency vite to v5.0.2',
        files: { 'package.json': 3 },
        author: 'renovate[bot]',
      },
      {
        message: 'chore(deps): update dependency vitest to v2.0.0',
        files: { 'package.json': 4 },
        author: 'renovate[bot]',
      },
      { message: 'release: v3.2.0', files: { 'version.txt': 1 } },
      { message: 'wip: half done', files: { 'src/d.ts': 1 } },
      { message: 'test: snapshot only', files: { '__snapshots__/x.snap': 50 } },
      {
        message: 'Revert "feat: add a streaming endpoint"\n\nThis reverts commit abc.',
        files: { 'src/a.ts': 20 },
      },
    ]);
  });
  afterAll(() => repo.remove());

  it('labels each commit by its prefix, strips prefix, scope, PR numbers and trailers, and sizes it from numstat', async () => {
    const result = await readGitCommits(
      { repo: 'acme/widgets', gitDir: repo.gitDir },
      { maxExamples: 100, maxCommits: 100, maxBotShare: 1 },
    );
    const byTitle = new Map(result.examples.map((example) => [example.title, example]));
    expect(byTitle.get('handle empty sidebar')).toMatchObject({
      type: 'BUG_FIX',
      complexity: 'SIMPLE',
      description: 'The sidebar crashed when empty.',
      group: 'acme/widgets',
    });
    // Lockfiles do not count: two files, 150 lines.
    expect(byTitle.get('add a streaming endpoint')).toMatchObject({ type: 'FEATURE', complexity: 'MEDIUM' });
    expect(byTitle.get('explain the cache')).toMatchObject({ type: 'DOCUMENTATION', complexity: 'COMPLEX' });
    expect(byTitle.get('feat: add a streaming endpoint')).toMatchObject({ type: 'OTHER' });
    for (const example of result.examples.filter((example) => example.type !== 'OTHER')) {
      expect(example.title).not.toMatch(/^\w+(\(.*\))?!?:|#\d+|Signed-off-by/);
      expect(example.description).not.toMatch(/Signed-off-by|Co-authored-by|fix #99/);
    }
    const titles = result.examples.map((example) => example.title);
    expect(titles).not.toContain('tidy things');
    expect(titles).not.toContain('half done');
    expect(titles).not.toContain('snapshot only');
    expect(titles.some((title) => title.includes('3.2.0'))).toBe(false);
    // The two bumps that differ only in digits are one example.
    expect(titles.filter((title) => title.startsWith('update dependency vite to')).length).toBe(1);
    expect(result.head).toBe(repo.shas.at(-1));
    expect(result.lastSha).toBe(repo.shas.at(-1));
  });

  it('caps dependency-bot commits at their share of the examples', async () => {
    const result = await readGitCommits(
      { repo: 'acme/widgets', gitDir: repo.gitDir },
      { maxExamples: 10, maxCommits: 100, maxBotShare: 0.1 },
    );
    expect(result.examples.filter((example) => example.bot).length).toBe(1);
  });

  it('stops at maxExamples, newest first, and reads from a given head', async () => {
    const newest = await readGitCommits(
      { repo: 'acme/widgets', gitDir: repo.gitDir },
      { maxExamples: 2, maxCommits: 100, maxBotShare: 1 },
    );
    expect(newest.examples.length).toBe(2);
    expect(newest.examples[0]?.ref).toBe(repo.shas.at(-1));
    const older = await readGitCommits(
      { repo: 'acme/widgets', gitDir: repo.gitDir, head: repo.shas[2] as string },
      { maxExamples: 100, maxCommits: 100, maxBotShare: 1 },
    );
    expect(older.examples.map((example) => example.ref)).toEqual([repo.shas[2], repo.shas[1], repo.shas[0]]);
  });

  it('caches a read by repository, head and options, and reads again for other options', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'classifier-cache-'));
    try {
      const head = repo.shas.at(-1) as string;
      const source = { repo: 'acme/widgets', gitDir: repo.gitDir, head };
      const options = { maxExamples: 100, maxCommits: 100, maxBotShare: 1 };
      const first = await readGitCommitsCached(source, options, cacheDir);
      expect(first.cached).toBe(false);
      expect(readdirSync(cacheDir)).toHaveLength(1);
      const second = await readGitCommitsCached(source, options, cacheDir);
      expect(second.cached).toBe(true);
      expect(second.examples).toEqual(first.examples);
      expect(second.head).toBe(head);
      const fewer = await readGitCommitsCached(source, { ...options, maxExamples: 2 }, cacheDir);
      expect(fewer.cached).toBe(false);
      expect(fewer.examples).toHaveLength(2);
      // A source without a full SHA is read from git every time (its head could move).
      const moving = await readGitCommitsCached(
        { repo: 'acme/widgets', gitDir: repo.gitDir },
        options,
        cacheDir,
      );
      expect(moving.cached).toBe(false);
      const none = await readGitCommitsCached(source, options, undefined);
      expect(none.cached).toBe(false);
      expect(none.examples).toEqual(first.examples);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
