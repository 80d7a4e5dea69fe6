/**
 * The native toolchains' part of the real-tool fixtures (see realTools.ts): pytest, go, cargo and Maven run on small
 * broken projects in temp directories. A missing tool is reported by `has` / `pytestCommand`, and its test skipped.
 */
import { join } from 'node:path';
import { has, project, removeProject, run } from './realTools.js';

/** The pytest to run: `pytest` on PATH, else `python3 -m pytest`, else Debian's; undefined when none runs. */
export function pytestCommand(): string[] | undefined {
  if (has('pytest')) return ['pytest'];
  for (const python of ['python3', '/usr/bin/python3']) {
    if (has(python, ['-m', 'pytest', '--version'])) return [python, '-m', 'pytest'];
  }
  return undefined;
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

/**
 * `go test` without and with `-v` (a failing test and a passing one; with `-v` the output precedes `--- FAIL`),
 * `go build` (type errors) and `go vet` on small modules.
 */
export function goOutputs(): { test: string; testVerbose: string; build: string; vet: string } {
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
      testVerbose: run(['go', 'test', '-v', './...'], { cwd: tests, env: goEnv(tests) }).output,
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
