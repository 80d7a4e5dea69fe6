import { describe, expect, it } from 'vitest';
import { parseJobLog, type CiFailure, type JobLogReport } from '@cap/ci-logs';
import { githubJobLog } from './githubFormat.js';
import { cargoOutputs, goOutputs, mavenOutputs, pytestCommand, pytestOutput } from './nativeTools.js';
import { eslintOutputs, has, jestOutput, nodeTestOutputs, tscOutputs, vitestOutput } from './realTools.js';

/** Parses a tool's real output as a GitHub job log (timestamps, step group, exit-code line, CRLF or not). */
async function parseAsJob(command: string, output: string, crlf = false): Promise<JobLogReport> {
  return parseJobLog(githubJobLog([{ command, output, exitCode: 1 }], { crlf }));
}

function pick(failures: CiFailure[], fields: (keyof CiFailure)[]) {
  return failures.map((failure) => Object.fromEntries(fields.map((field) => [field, failure[field]])));
}

const where: (keyof CiFailure)[] = ['tool', 'file', 'line', 'column'];
const test: (keyof CiFailure)[] = ['tool', 'file', 'line', 'testName'];

// Each test runs a real tool (cold caches, a 2-core machine shared with other work): generous timeouts.
describe('failures parsed from what the real tools print', { timeout: 240_000 }, () => {
  it('tsc, plain and --pretty (ANSI colours), give the same failures and fingerprints', async () => {
    const { plain, pretty } = tscOutputs();
    const a = await parseAsJob('npx tsc --noEmit', plain);
    const b = await parseAsJob('npx tsc --noEmit --pretty', pretty, true);
    const expected = [
      { tool: 'tsc', file: 'src/math.ts', line: 4, column: 37 },
      { tool: 'tsc', file: 'src/user.ts', line: 2, column: 40 },
      { tool: 'tsc', file: 'src/user.ts', line: 3, column: 24 },
    ];
    expect(pick(a.failures, where)).toEqual(expected);
    expect(pick(b.failures, where)).toEqual(expected);
    expect(a.failures[2]!.message).toBe("TS2304: Cannot find name 'notDeclared'.");
    expect(b.failures.map((f) => f.fingerprint)).toEqual(a.failures.map((f) => f.fingerprint));
    expect(b.failures[0]!.excerpt).toContain("export const total: number = add(1, '2');");
    expect(b.failures[0]!.step).toBe('npx tsc --noEmit --pretty');
  });

  it('ESLint stylish, unix and compact give the same failures (warnings marked) and fingerprints', async () => {
    const outputs = eslintOutputs();
    const reports = await Promise.all(
      Object.entries(outputs).map(([format, output]) => parseAsJob(`npx eslint -f ${format} .`, output)),
    );
    for (const report of reports) {
      expect(pick(report.failures, [...where, 'severity'])).toEqual([
        { tool: 'eslint', file: 'src/app.js', line: 1, column: 7, severity: 'error' },
        { tool: 'eslint', file: 'src/app.js', line: 3, column: 12, severity: 'warning' },
        { tool: 'eslint', file: 'src/app.js', line: 3, column: 15, severity: 'error' },
        { tool: 'eslint', file: 'src/other.js', line: 1, column: 18, severity: 'error' },
      ]);
      expect(report.failures[3]!.message).toBe("'z' is not defined (no-undef)");
      expect(report.failures.map((f) => f.fingerprint)).toEqual(
        reports[0]!.failures.map((f) => f.fingerprint),
      );
    }
  });

  it('Vitest: each failing test with its suite path, error and location', async () => {
    const report = await parseAsJob('npx vitest run', vitestOutput());
    expect(pick(report.failures, test)).toEqual([
      { tool: 'vitest', file: 'src/cart.test.js', line: 3, testName: 'cart > sums prices' },
      { tool: 'vitest', file: 'src/cart.test.js', line: 10, testName: 'loads the config' },
    ]);
    expect(report.failures[0]!.message).toMatch(/^AssertionError: expected 3 to be 4/);
    expect(report.failures[1]!.message).toMatch(/^Error: config file .* not found/);
  });

  it('Jest (installed from npm as a devDependency): each failing test with its describe path', async () => {
    const report = await parseAsJob('npx jest', jestOutput());
    expect(pick(report.failures, test)).toEqual([
      { tool: 'jest', file: 'cart.test.js', line: 3, testName: 'cart > sums prices' },
      { tool: 'jest', file: 'cart.test.js', line: 7, testName: 'parses the order' },
    ]);
    expect(report.failures[0]!.message).toContain('Expected: 4');
  });

  it("node's test runner, spec and TAP reporters, give the same failures and fingerprints", async () => {
    const { spec, tap } = nodeTestOutputs();
    const a = await parseAsJob('node --test', spec);
    const b = await parseAsJob('node --test --test-reporter=tap', tap);
    const expected = [
      { tool: 'node-test', file: 'parser.test.mjs', line: 4, testName: 'reads numbers' },
      { tool: 'node-test', file: 'parser.test.mjs', line: 9, testName: 'throws a plain error' },
    ];
    expect(pick(a.failures, test)).toEqual(expected);
    expect(pick(b.failures, test)).toEqual(expected);
    expect(a.failures[1]!.message).toBe('connection refused on port 5432');
    expect(b.failures.map((f) => f.fingerprint)).toEqual(a.failures.map((f) => f.fingerprint));
  });

  const pytest = pytestCommand();
  it.skipIf(!pytest)(
    'pytest: failing tests and a collection error (pytest is not installed on this machine)',
    async () => {
      const report = await parseAsJob('pytest', pytestOutput(pytest!));
      expect(pick(report.failures, test)).toEqual([
        { tool: 'pytest', file: 'tests/test_broken.py', line: 1, testName: undefined },
        { tool: 'pytest', file: 'tests/test_cart.py', line: 5, testName: 'test_total' },
        { tool: 'pytest', file: 'tests/test_cart.py', line: 9, testName: 'TestOrder.test_parse' },
      ]);
      expect(report.failures[0]!.message).toBe("ModuleNotFoundError: No module named 'not_a_module_here'");
      expect(report.failures[2]!.message).toBe('ValueError: bad order id 0x1f3a');
    },
  );

  it.skipIf(!has('go', ['version']))(
    'go test, go build and go vet (go is not installed on this machine)',
    async () => {
      const outputs = goOutputs();
      const tests = await parseAsJob('go test ./...', outputs.test);
      expect(pick(tests.failures, [...test, 'message'])).toEqual([
        {
          tool: 'go',
          file: 'cart_test.go',
          line: 7,
          testName: 'example.com/shop.TestTotal',
          message: 'Total = 3, want 4',
        },
      ]);
      // With -v, the test's output comes before its `--- FAIL` line: the same failure, the same fingerprint.
      const verbose = await parseAsJob('go test -v ./...', outputs.testVerbose);
      expect(pick(verbose.failures, [...test, 'message', 'fingerprint'])).toEqual(
        pick(tests.failures, [...test, 'message', 'fingerprint']),
      );
      const build = await parseAsJob('go build ./...', outputs.build);
      expect(pick(build.failures, [...where, 'message'])).toEqual([
        { tool: 'go', file: 'main.go', line: 6, column: 14, message: expect.stringContaining('"three"') },
        { tool: 'go', file: 'main.go', line: 7, column: 18, message: 'undefined: undefinedName' },
      ]);
      const vet = await parseAsJob('go vet ./...', outputs.vet);
      expect(pick(vet.failures, where)).toEqual([{ tool: 'go', file: 'main.go', line: 6, column: 2 }]);
    },
  );

  it.skipIf(!has('cargo'))(
    'cargo build errors and cargo test failures (cargo is not installed on this machine)',
    async () => {
      const outputs = cargoOutputs();
      const build = await parseAsJob('cargo build', outputs.build);
      expect(pick(build.failures, [...where, 'message'])).toEqual([
        { tool: 'cargo', file: 'src/main.rs', line: 2, column: 18, message: 'E0308: mismatched types' },
      ]);
      const tests = await parseAsJob('cargo test', outputs.test);
      expect(pick(tests.failures, test)).toEqual([
        { tool: 'cargo', file: 'src/lib.rs', line: 10, testName: 'tests::sums' },
      ]);
      expect(tests.failures[0]!.message).toContain('assertion `left == right` failed');
    },
  );

  it.skipIf(!has('mvn'))(
    'Maven: compiler errors and Surefire 3 / 2.x test failures (Maven is not installed on this machine)',
    { timeout: 600_000 },
    async () => {
      const outputs = mavenOutputs();
      const compile = await parseAsJob('mvn -B test', outputs.compile);
      expect(pick(compile.failures, [...where, 'message', 'occurrences'])).toEqual([
        {
          tool: 'maven',
          file: 'src/main/java/com/example/Cart.java',
          line: 5,
          column: 17,
          message: 'incompatible types: java.lang.String cannot be converted to int',
          occurrences: 1,
        },
      ]);
      for (const output of [outputs.surefire, outputs.surefireLegacy]) {
        const tests = await parseAsJob('mvn -B test', output);
        expect(pick(tests.failures, [...test, 'message'])).toEqual([
          {
            tool: 'maven',
            file: 'CartTest.java',
            line: 9,
            testName: 'com.example.CartTest.sumsPrices',
            message: 'java.lang.AssertionError: expected:<4> but was:<3>',
          },
          {
            tool: 'maven',
            file: 'CartTest.java',
            line: 13,
            testName: 'com.example.CartTest.throwsOnEmpty',
            message: 'java.lang.IllegalStateException: cart 42 is empty',
          },
        ]);
      }
    },
  );
});
