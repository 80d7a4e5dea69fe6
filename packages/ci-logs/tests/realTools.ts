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

/** The pytest to run: `pytest` on PATH, else `python3 -m pytest`, else Debian's; undefined when none runs. */
export function pytestCommand(): string[] | undefined {
  if (has('pytest')) return ['pytest'];
  for (const python of ['python3', '/usr/bin/python3']) {
    if (has(python, ['-m', 'pytest', '--version'])) return [python, '-m', 'pytest'];
  }
  return undefined;
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

/** pytest (`-p no:cacheprovider`) on a failing assertion, a raised exception and a collection error. */
export function pytestOutput(command: string[]): string {
  const dir = project('pytest', {
    'tests/test_cart.py': [
      'def total(items):',
      '    return sum(items)',
      '',
      'def test_total():',
      '    assert total([1, 2]) == 4',
      '',
      'class TestOrder:',
      '    def test_parse(self):',
      "        raise ValueError('bad order id 0x1f3a')",
      '',
      'def test_ok():',
      '    assert True',
      '',
    ].join('\n'),
    'tests/test_broken.py': 'import not_a_module_here\n',
  });
  try {
    return run([...command, '-p', 'no:cacheprovider', '--continue-on-collection-errors', 'tests'], {
      cwd: dir,
    }).output;
  } finally {
    removeProject(dir);
  }
}

const goEnv = (dir: string) => ({
  GOCACHE: join(dir, '.gocache'),
  GOPATH: join(dir, '.gopath'),
  GOFLAGS: '-mod=mod',
  GOTOOLCHAIN: 'local',
  GOPROXY: 'off',
});

/** `go test` (a failing test and a passing one), `go build` (type errors) and `go vet` on small modules. */
export function goOutputs(): { test: string; build: string; vet: string } {
  const tests = project('go-test', {
    'go.mod': 'module example.com/shop\n\ngo 1.19\n',
    'cart.go':
      'package shop\n\nfunc Total(xs []int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n',
    'cart_test.go': [
      'package shop',
      '',
      'import "testing"',
      '',
      'func TestTotal(t *testing.T) {',
      '\tif got := Total([]int{1, 2}); got != 4 {',
      '\t\tt.Errorf("Total = %d, want %d", got, 4)',
      '\t}',
      '}',
      '',
      'func TestOK(t *testing.T) {}',
      '',
    ].join('\n'),
  });
  const broken = project('go-build', {
    'go.mod': 'module example.com/broken\n\ngo 1.19\n',
    'main.go': [
      'package main',
      '',
      'import "fmt"',
      '',
      'func main() {',
      '\tvar n int = "three"',
      '\tfmt.Println(n + undefinedName)',
      '}',
      '',
    ].join('\n'),
  });
  const vet = project('go-vet', {
    'go.mod': 'module example.com/vet\n\ngo 1.19\n',
    'main.go': 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Printf("%d\\n", "text")\n}\n',
  });
  try {
    return {
      test: run(['go', 'test', './...'], { cwd: tests, env: goEnv(tests) }).output,
      build: run(['go', 'build', './...'], { cwd: broken, env: goEnv(broken) }).output,
      vet: run(['go', 'vet', './...'], { cwd: vet, env: goEnv(vet) }).output,
    };
  } finally {
    for (const dir of [tests, broken, vet]) removeProject(dir);
  }
}

/** `cargo build` of a crate with a type error and `cargo test` of a crate with a failing test (offline). */
export function cargoOutputs(): { build: string; test: string } {
  const manifest = (name: string) => `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n`;
  const broken = project('cargo-build', {
    'Cargo.toml': manifest('broken'),
    'src/main.rs': 'fn main() {\n    let n: i32 = "three";\n    println!("{}", n);\n}\n',
  });
  const tests = project('cargo-test', {
    'Cargo.toml': manifest('shop'),
    'src/lib.rs': [
      'pub fn total(xs: &[i32]) -> i32 {',
      '    xs.iter().sum()',
      '}',
      '',
      '#[cfg(test)]',
      'mod tests {',
      '    use super::*;',
      '    #[test]',
      '    fn sums() {',
      '        assert_eq!(total(&[1, 2]), 4);',
      '    }',
      '    #[test]',
      '    fn ok() {}',
      '}',
      '',
    ].join('\n'),
  });
  const env = (dir: string) => ({ CARGO_TARGET_DIR: join(dir, 'target'), CARGO_TERM_COLOR: 'never' });
  try {
    return {
      build: run(['cargo', 'build', '--offline'], { cwd: broken, env: env(broken) }).output,
      test: run(['cargo', 'test', '--offline'], { cwd: tests, env: env(tests) }).output,
    };
  } finally {
    for (const dir of [broken, tests]) removeProject(dir);
  }
}

const surefire3 = `
  <build>
    <plugins>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><version>3.5.2</version></plugin>
    </plugins>
  </build>`;

const pom = (artifact: string, build = '') => `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>${artifact}</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>${build}
</project>
`;

/**
 * Maven (batch mode) on a project with a compiler error and on one whose tests fail, with Surefire 3 (what
 * projects pin today) and with Maven's default Surefire 2.12 (the older report layout).
 */
export function mavenOutputs(): { compile: string; surefire: string; surefireLegacy: string } {
  const broken = project('mvn-compile', {
    'pom.xml': pom('broken'),
    'src/main/java/com/example/Cart.java':
      'package com.example;\n\npublic class Cart {\n    public int total() {\n        int n = "three";\n        return n;\n    }\n}\n',
  });
  const failingFiles = {
    'src/main/java/com/example/Cart.java':
      'package com.example;\n\npublic class Cart {\n    public static int total(int a, int b) {\n        return a + b;\n    }\n}\n',
    'src/test/java/com/example/CartTest.java': [
      'package com.example;',
      '',
      'import static org.junit.Assert.assertEquals;',
      'import org.junit.Test;',
      '',
      'public class CartTest {',
      '    @Test',
      '    public void sumsPrices() {',
      '        assertEquals(4, Cart.total(1, 2));',
      '    }',
      '    @Test',
      '    public void throwsOnEmpty() {',
      '        throw new IllegalStateException("cart 42 is empty");',
      '    }',
      '}',
      '',
    ].join('\n'),
  };
  const failing = project('mvn-surefire', { ...failingFiles, 'pom.xml': pom('shop', surefire3) });
  const legacy = project('mvn-surefire2', { ...failingFiles, 'pom.xml': pom('shop') });
  const mvn = (dir: string) => run(['mvn', '-B', '-ntp', 'test'], { cwd: dir }).output;
  try {
    return { compile: mvn(broken), surefire: mvn(failing), surefireLegacy: mvn(legacy) };
  } finally {
    for (const dir of [broken, failing, legacy]) removeProject(dir);
  }
}
