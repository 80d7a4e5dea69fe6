/**
 * Runs the REAL tools on small broken projects written to a temp directory and returns what they print
 * (stdout and stderr interleaved, as a CI step's log has them). Nothing here is copied tool output: every fixture
 * is produced on this machine by the tool itself. Tools that are not installed are reported by `has`, and the
 * tests skip them with the reason.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The repository root (tests run the repository's own installed binaries from node_modules). */
export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

/** True when `command` runs here (`command --version` or the given probe exits 0). */
export function has(command: string, probe: string[] = ['--version']): boolean {
  const result = spawnSync(command, probe, { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

/** Writes `files` (relative path → content) under a new temp directory and returns it. */
export function project(name: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `cap-ci-logs-${name}-`));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Removes a directory made by {@link project}. */
export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a command with stdout and stderr interleaved into one text (as a CI log has them); returns it. */
export function run(
  command: string[],
  options: { cwd: string; env?: Record<string, string>; colour?: boolean; timeoutMs?: number },
): { output: string; status: number | null } {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ...options.env,
  };
  // Colours as on a GitHub runner (tools that detect CI colour their output); NO_COLOR must be absent, not empty.
  if (options.colour) {
    delete env['NO_COLOR'];
    env['FORCE_COLOR'] = '1';
  }
  const result = spawnSync('bash', ['-c', 'exec "$@" 2>&1', 'run', ...command], {
    cwd: options.cwd,
    env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { output: result.stdout, status: result.status };
}

const tsFiles = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext' },
    include: ['src'],
  }),
  'src/math.ts': [
    'export function add(a: number, b: number): number {',
    '  return a + b;',
    '}',
    "export const total: number = add(1, '2');",
    '',
  ].join('\n'),
  'src/user.ts': [
    'interface User { name: string }',
    "export const user: User = { name: 'a', age: 3 };",
    'export const missing = notDeclared + 1;',
    '',
  ].join('\n'),
};

/** `tsc` plain (`--pretty false`) and `--pretty` output of a project with three type errors in two files. */
export function tscOutputs(): { plain: string; pretty: string } {
  const dir = project('tsc', tsFiles);
  try {
    const plain = run([bin('tsc'), '-p', '.', '--pretty', 'false'], { cwd: dir }).output;
    const pretty = run([bin('tsc'), '-p', '.', '--pretty'], { cwd: dir }).output;
    return { plain, pretty };
  } finally {
    removeProject(dir);
  }
}

/** ESLint's stylish (default), unix and compact output for two files breaking core rules. */
export function eslintOutputs(): { stylish: string; unix: string; compact: string } {
  const dir = project('eslint', {
    'eslint.config.mjs': [
      'export default [{',
      "  files: ['**/*.js'],",
      "  languageOptions: { sourceType: 'module', globals: {} },",
      "  rules: { 'no-unused-vars': 'error', 'no-undef': 'error', eqeqeq: 'warn' },",
      '}];',
      '',
    ].join('\n'),
    'src/app.js': [
      'const unused = 1;',
      'export function f(x) {',
      '  return x == undefinedThing;',
      '}',
      '',
    ].join('\n'),
    'src/other.js': ['export const y = z + 1;', ''].join('\n'),
  });
  const formatter = (name: string) => createRequire(import.meta.url).resolve(`eslint-formatter-${name}`);
  try {
    const eslint = (args: string[], colour = false) =>
      run([bin('eslint'), ...args, 'src'], { cwd: dir, colour }).output;
    return {
      stylish: eslint([], true),
      unix: eslint(['-f', formatter('unix')]),
      compact: eslint(['-f', formatter('compact')]),
    };
  } finally {
    removeProject(dir);
  }
}

/**
 * A Vitest run (the repository's vitest, globals on, a project name) with a failing assertion, a thrown error and a
 * passing test, printed as on a GitHub runner: coloured, with Vitest's `::error` annotations.
 */
export function vitestOutput(): string {
  const dir = project('vitest', {
    'vitest.config.mjs': "export default { test: { name: 'unit', globals: true } };\n",
    'src/cart.test.js': [
      "describe('cart', () => {",
      "  it('sums prices', () => {",
      '    expect(1 + 2).toBe(4);',
      '  });',
      "  it('passes', () => {",
      '    expect(true).toBe(true);',
      '  });',
      '});',
      "test('loads the config', () => {",
      "  throw new Error('config file /tmp/x-123/config.json not found');",
      '});',
      '',
    ].join('\n'),
  });
  try {
    return run([bin('vitest'), 'run', '--root', dir], {
      cwd: dir,
      env: { CI: 'true', GITHUB_ACTIONS: 'true' },
      colour: true,
    }).output;
  } finally {
    removeProject(dir);
  }
}

/** A Jest run (installed as this package's devDependency) with two failing tests. */
export function jestOutput(): string {
  const dir = project('jest', {
    'package.json': JSON.stringify({ name: 'jest-fixture', private: true }),
    'cart.test.js': [
      "describe('cart', () => {",
      "  test('sums prices', () => {",
      '    expect(1 + 2).toBe(4);',
      '  });',
      '});',
      "test('parses the order', () => {",
      "  expect({ id: 1, items: ['a'] }).toEqual({ id: 1, items: ['b'] });",
      '});',
      "test('passes', () => {});",
      '',
    ].join('\n'),
  });
  try {
    return run([bin('jest'), '--ci', '--watchman=false', '--rootDir', dir], {
      cwd: dir,
      env: { GITHUB_ACTIONS: 'true' },
      colour: true,
    }).output;
  } finally {
    removeProject(dir);
  }
}

const nodeTestFile = [
  "import { test, describe } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "describe('parser', () => {",
  "  test('reads numbers', () => {",
  "    assert.equal(Number('41'), 42);",
  '  });',
  "  test('passes', () => {});",
  '});',
  "test('throws a plain error', () => {",
  "  throw new Error('connection refused on port 5432');",
  '});',
  '',
].join('\n');

/** node's test runner with the spec and the TAP reporters on the same failing file. */
export function nodeTestOutputs(): { spec: string; tap: string } {
  const dir = project('node-test', { 'parser.test.mjs': nodeTestFile });
  try {
    const node = (reporter: string) =>
      run([process.execPath, '--test', `--test-reporter=${reporter}`, 'parser.test.mjs'], {
        cwd: dir,
        colour: true,
      }).output;
    return { spec: node('spec'), tap: node('tap') };
  } finally {
    removeProject(dir);
  }
}
