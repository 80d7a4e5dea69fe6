import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseToolArguments,
  PathRefusedError,
  resolveWorkspacePath,
  runTool,
  searchFiles,
  SearchError,
  type ToolEnvironment,
  type ToolName,
} from '../src/index.js';
import { ChildProcessRunner, git, seededRandom } from '@cap/testkit';

let base: string;
let root: string;
let outside: string;
let env: ToolEnvironment;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'cap-agent-tools-')));
  root = join(base, 'workspace');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'src', 'deep'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'outside secret\n');
  writeFileSync(join(root, 'src', 'a.js'), 'const a = 1;\nconst b = 2;\nconst a2 = 1;\n');
  writeFileSync(join(root, 'src', 'dup.js'), 'x();\nx();\n');
  writeFileSync(join(root, 'src', 'deep', 'b.txt'), 'hello\n');
  // Symlinks that leave, chains of them, a dangling one pointing out, and a harmless inner one.
  symlinkSync(outside, join(root, 'out'));
  symlinkSync(join(root, 'out'), join(root, 'chain1'));
  symlinkSync(join(root, 'chain1'), join(root, 'chain2'));
  symlinkSync('../../outside/secret.txt', join(root, 'src', 'rel-out'));
  symlinkSync(join(outside, 'missing.txt'), join(root, 'dangling'));
  symlinkSync(join(root, 'src'), join(root, 'inner'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  git(root, 'init', '--quiet');
  env = {
    root,
    runner: new ChildProcessRunner(),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: base, GIT_CONFIG_NOSYSTEM: '1' },
    network: false,
    commandTimeoutMs: 10_000,
    maxOutputBytes: 4_096,
    signal: new AbortController().signal,
  };
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const call = (name: ToolName, args: unknown) => runTool(env, name, parseArgs(name, args));
function parseArgs(name: ToolName, args: unknown): unknown {
  const parsed = parseToolArguments(name, JSON.stringify(args));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.args;
}

const SEGMENTS = [
  '..',
  '.',
  'src',
  'deep',
  'out',
  'chain1',
  'chain2',
  'inner',
  'dangling',
  'rel-out',
  'loop1',
  'secret.txt',
  'new.txt',
  '',
  '...',
  '..\\..',
  'a.js',
  '.git',
  'outside',
  '%2e%2e',
];

function hostilePath(next: () => number): string {
  const count = 1 + Math.floor(next() * 6);
  const parts = Array.from({ length: count }, () => SEGMENTS[Math.floor(next() * SEGMENTS.length)]!);
  const prefix = next() < 0.15 ? '/' : next() < 0.1 ? '~/' : '';
  return prefix + parts.join(next() < 0.2 ? '//' : '/');
}

describe('workspace paths', () => {
  it.each([
    ['/etc/passwd', 'absolute'],
    ['../outside/secret.txt', 'leaves'],
    ['src/../../outside/secret.txt', 'leaves'],
    ['out/secret.txt', 'outside the repository'],
    ['chain2/secret.txt', 'outside the repository'],
    ['src/rel-out', 'outside the repository'],
    ['dangling', 'broken or looping'],
    ['loop1/x', 'broken or looping'],
    ['a\u0000b', 'NUL'],
  ])('refuses %j', async (path, why) => {
    await expect(resolveWorkspacePath(root, path)).rejects.toThrow(why);
  });

  it('accepts paths inside, through inner symlinks too', async () => {
    await expect(resolveWorkspacePath(root, 'inner/a.js')).resolves.toBe(join(root, 'src', 'a.js'));
    await expect(resolveWorkspacePath(root, 'src/deep/../a.js')).resolves.toBe(join(root, 'src', 'a.js'));
    await expect(resolveWorkspacePath(root, 'src/new/dir/file.txt', { write: true })).resolves.toBe(
      join(root, 'src', 'new', 'dir', 'file.txt'),
    );
    await expect(resolveWorkspacePath(root, '.git/config', { write: true })).rejects.toThrow('.git');
  });

  it('never resolves a generated hostile path to anything outside the workspace (2,000 paths)', async () => {
    const next = seededRandom(20261206);
    let refused = 0;
    for (let i = 0; i < 2_000; i++) {
      const path = hostilePath(next);
      let resolved: string;
      try {
        resolved = await resolveWorkspacePath(root, path, { write: next() < 0.5 });
      } catch (error) {
        expect(error, path).toBeInstanceOf(PathRefusedError);
        refused++;
        continue;
      }
      // Whatever exists of the resolved path really is inside the workspace.
      let probe = resolved;
      while (!(await lstat(probe).catch(() => null))) probe = join(probe, '..');
      const real = await realpath(probe);
      const rel = relative(root, real);
      expect(rel.startsWith(`..${sep}`) || rel === '..', `${path} → ${real}`).toBe(false);
      expect(real.startsWith(root), `${path} → ${real}`).toBe(true);
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('tools answer escapes with an error the model sees and touch nothing outside', async () => {
    const attempts: Array<[ToolName, Record<string, unknown>]> = [
      ['read_file', { path: '../outside/secret.txt' }],
      ['read_file', { path: 'chain2/secret.txt' }],
      ['write_file', { path: 'out/pwned.txt', content: 'x' }],
      ['write_file', { path: 'chain1/pwned.txt', content: 'x' }],
      ['write_file', { path: 'dangling', content: 'x' }],
      ['edit_file', { path: 'src/rel-out', old_string: 'outside', new_string: 'inside' }],
      ['list_files', { path: 'out' }],
      ['search', { pattern: 'secret', path: 'chain2' }],
      [
        'apply_patch',
        { patch: '--- a/out/secret.txt\n+++ b/out/secret.txt\n@@ -1 +1 @@\n-outside secret\n+changed\n' },
      ],
      ['apply_patch', { patch: '--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+x\n' }],
    ];
    for (const [name, args] of attempts) {
      const outcome = await call(name, args);
      expect(outcome.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      expect(outcome.content).toMatch(/outside|leaves|broken/);
    }
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside secret\n');
    expect(existsSync(join(outside, 'pwned.txt'))).toBe(false);
    expect(existsSync(join(outside, 'missing.txt'))).toBe(false);
    expect(existsSync(join(base, 'escape.txt'))).toBe(false);
  });
});

describe('tools', () => {
  it('read_file returns numbered line ranges', async () => {
    const outcome = await call('read_file', { path: 'src/a.js', start_line: 2, end_line: 2 });
    expect(outcome).toMatchObject({ isError: false });
    expect(outcome.content).toContain('    2  const b = 2;');
    expect(outcome.content).not.toContain('const a = 1;');
  });

  it('edit_file refuses an absent or ambiguous old_string and replaces a unique one', async () => {
    expect(await call('edit_file', { path: 'src/a.js', old_string: 'nope', new_string: 'x' })).toMatchObject({
      isError: true,
    });
    const ambiguous = await call('edit_file', { path: 'src/dup.js', old_string: 'x();', new_string: 'y();' });
    expect(ambiguous).toMatchObject({ isError: true });
    expect(ambiguous.content).toContain('occurs 2 times');
    expect(
      await call('edit_file', { path: 'src/a.js', old_string: 'const b = 2;', new_string: 'const b = 3;' }),
    ).toMatchObject({ isError: false });
    expect(readFileSync(join(root, 'src', 'a.js'), 'utf8')).toContain('const b = 3;');
  });

  it('apply_patch applies a unified diff with git apply and reports a rejected hunk', async () => {
    const patch = '--- a/src/deep/b.txt\n+++ b/src/deep/b.txt\n@@ -1 +1,2 @@\n hello\n+world\n';
    expect(await call('apply_patch', { patch })).toMatchObject({ isError: false });
    expect(readFileSync(join(root, 'src', 'deep', 'b.txt'), 'utf8')).toBe('hello\nworld\n');
    const stale = await call('apply_patch', {
      patch: '--- a/src/deep/b.txt\n+++ b/src/deep/b.txt\n@@ -1 +1 @@\n-absent line\n+x\n',
    });
    expect(stale).toMatchObject({ isError: true });
    expect(stale.content).toContain('git apply refused');
  });

  it('run_command caps its output with a truncation mark and reports the exit code', async () => {
    const outcome = await call('run_command', { command: 'yes 0123456789 | head -c 20000; exit 3' });
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toContain('[exit code 3]');
    expect(outcome.content).toContain('output truncated at 4096 bytes');
  });

  it('run_command stops at its time limit', async () => {
    const outcome = await call('run_command', { command: 'sleep 20', timeout_ms: 1_000 });
    expect(outcome.content).toContain('timed out');
  });

  it('malformed JSON and schema violations come back as corrective messages', () => {
    expect(parseToolArguments('read_file', '{"path": ')).toMatchObject({
      ok: false,
      message: expect.stringContaining('not valid JSON'),
    });
    expect(parseToolArguments('read_file', '{"path": 3}')).toMatchObject({
      ok: false,
      message: expect.stringContaining('Invalid arguments for read_file'),
    });
    expect(parseToolArguments('read_file', '{"path": "a", "extra": 1}')).toMatchObject({ ok: false });
    expect(parseToolArguments('rm_rf', '{}')).toMatchObject({
      ok: false,
      message: expect.stringContaining('Unknown tool'),
    });
    expect(parseToolArguments('list_files', '')).toMatchObject({
      ok: true,
      args: { path: '.', max_depth: 3 },
    });
  });
});

describe('search', () => {
  it('finds matching lines and caps the results', async () => {
    const result = await searchFiles(root, root, 'const \\w+ =');
    expect(result.matches.map((match) => `${match.path}:${match.line}`)).toEqual([
      'src/a.js:1',
      'src/a.js:2',
      'src/a.js:3',
    ]);
    const capped = await searchFiles(root, root, '.', {
      limits: { maxResults: 2, timeMs: 1_000, maxFileBytes: 1_000_000, maxFiles: 100, maxPatternLength: 100 },
    });
    expect(capped.matches).toHaveLength(2);
    expect(capped.capped).toBe(true);
  });

  it.each(['(a+)+$', '(a|aa)+$', '(a*)*b', '^(\\w+\\s?)*$'])(
    'stops the catastrophically backtracking %s at its time cap',
    async (pattern) => {
      const dir = join(base, 'redos');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'input.txt'), `${'a'.repeat(40)}!\n`);
      const limits = {
        maxResults: 10,
        timeMs: 300,
        maxFileBytes: 1_000_000,
        maxFiles: 10,
        maxPatternLength: 100,
      };
      await expect(searchFiles(dir, dir, pattern, { limits })).rejects.toThrow(SearchError);
      await expect(searchFiles(dir, dir, pattern, { limits })).rejects.toThrow('backtracks');
    },
  );

  it('never serves a stale cached text, even after rapid same-size rewrites', async () => {
    const dir = join(base, 'rewrites');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 50; i++) {
      // Same size every time, rewritten within the same millisecond more often than not.
      writeFileSync(join(dir, 'f.txt'), `token-${String(i).padStart(3, '0')}\n`);
      const result = await searchFiles(dir, dir, 'token-\\d+');
      expect(result.matches.map((match) => match.text)).toEqual([`token-${String(i).padStart(3, '0')}`]);
    }
  });

  it('refuses an invalid pattern clearly', async () => {
    await expect(searchFiles(root, root, '(unclosed')).rejects.toThrow('Invalid regular expression');
  });
});
