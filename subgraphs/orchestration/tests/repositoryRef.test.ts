import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRepositoryRef } from '../src/domain/repositoryRef.js';

let dir: string;
let repo: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cap-repo-ref-'));
  repo = join(dir, 'repo');
  execFileSync('git', ['init', '--quiet', repo]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repository references', () => {
  it('accepts GitHub owner/name and canonicalises a .git suffix', () => {
    expect(parseRepositoryRef('acme/widgets', { allowLocal: false })).toMatchObject({
      kind: 'github',
      canonical: 'acme/widgets',
    });
    expect(parseRepositoryRef(' acme-co/widgets.js.git ', { allowLocal: false })).toMatchObject({
      canonical: 'acme-co/widgets.js',
    });
  });

  it('accepts an existing local git repository as a path or a file:// URL', () => {
    expect(parseRepositoryRef(repo, { allowLocal: true })).toEqual({
      kind: 'local',
      path: repo,
      canonical: repo,
    });
    expect(parseRepositoryRef(pathToFileURL(repo).href, { allowLocal: true })).toMatchObject({
      kind: 'local',
      canonical: repo,
    });
    expect(parseRepositoryRef(`${repo}/`, { allowLocal: true })).toMatchObject({ canonical: repo });
  });

  it.each([
    ['an unknown local path', () => join(dir, 'missing')],
    ['a directory that is not a git repository', () => dir],
    ['a relative path', () => 'repo'],
    ['too many segments', () => 'acme/widgets/extra'],
    ['an https URL', () => 'https://github.com/acme/widgets'],
    ['an ssh URL', () => 'git@github.com:acme/widgets.git'],
    ['a remote file URL', () => 'file://evil.example.com/repo'],
    ['a bad owner', () => '-acme/widgets'],
    ['a dot name', () => 'acme/..'],
    ['control characters', () => 'acme/wid\u0000gets'],
    ['an empty string', () => '   '],
    ['a huge string', () => `acme/${'a'.repeat(5_000)}`],
  ])('refuses %s with BAD_USER_INPUT on field repository', (_name, value) => {
    expect(() => parseRepositoryRef(value(), { allowLocal: true })).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'repository' }),
      }),
    );
  });

  it('refuses local repositories when the shell executor is disabled', () => {
    expect(() => parseRepositoryRef(repo, { allowLocal: false })).toThrow(/shell executor/);
  });
});
