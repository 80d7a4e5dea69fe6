import { describe, expect, it } from 'vitest';
import { parseGithubLine, parseJobLog, stripAnsi } from '@cap/ci-logs';
import { githubJobLog } from './githubFormat.js';

describe('GitHub job-log framing', () => {
  it('takes off timestamps, ANSI codes (CSI, OSC hyperlinks), BOM and runner commands', () => {
    expect(parseGithubLine('\uFEFF2026-12-06T10:00:00.1234567Z \x1b[31;1mboom\x1b[0m')).toEqual({
      kind: 'text',
      text: 'boom',
    });
    expect(parseGithubLine('2026-12-06T10:00:00.1234567Z ##[group]Run npm test')).toEqual({
      kind: 'group',
      text: 'Run npm test',
    });
    expect(parseGithubLine('##[endgroup]').kind).toBe('endgroup');
    expect(parseGithubLine('##[error]Process completed with exit code 2.')).toEqual({
      kind: 'error',
      text: 'Process completed with exit code 2.',
    });
    expect(
      stripAnsi('\x1b]8;;https://example.test\x07link\x1b]8;;\x07 \x1b[38:2:255:0:0mred\x1b[m\x07'),
    ).toBe('link red');
  });

  it('reads ::error workflow commands with their escaped properties into annotations', () => {
    expect(
      parseGithubLine('::error file=src/a%2Cb.ts,line=12,col=3,title=Type error::Bad%0Athing %25'),
    ).toEqual({
      kind: 'error',
      text: 'Bad\nthing %',
      annotation: { level: 'error', file: 'src/a,b.ts', line: 12, column: 3, title: 'Type error' },
    });
    expect(parseGithubLine('::warning::careful').annotation).toEqual({ level: 'warning' });
    // Vitest's GitHub reporter writes `column=` where GitHub documents `col=`.
    expect(parseGithubLine('::error file=a.ts,line=2,column=5::x').annotation).toEqual({
      level: 'error',
      file: 'a.ts',
      line: 2,
      column: 5,
    });
  });

  it('CRLF, lone CR (progress redraws) and a chunk boundary inside a multi-byte character are read as text', async () => {
    const log = "progress 10%\rprogress 100%\r\nsrc/é.ts(1,2): error TS2304: Cannot find name 'ü'.\r\n";
    const bytes = Buffer.from(log, 'utf8');
    const split = bytes.indexOf(Buffer.from('é')) + 1; // inside é's two bytes
    const report = await parseJobLog([bytes.subarray(0, split), bytes.subarray(split)]);
    expect(report.failures).toMatchObject([
      { tool: 'tsc', file: 'src/é.ts', line: 1, column: 2, message: "TS2304: Cannot find name 'ü'." },
    ]);
    expect(report.lines).toBe(2);
    expect(report.bytes).toBe(bytes.length);
  });
});

describe('detector and steps', () => {
  it('parses several tools in one job log, each failure attributed to its step, the script echo ignored', async () => {
    const log = githubJobLog([
      { command: 'npm ci', output: 'added 120 packages in 3s' },
      {
        command: 'npx tsc --noEmit',
        output: "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.",
        exitCode: 2,
      },
      {
        command: 'npx eslint .',
        output:
          '\n/home/runner/work/app/app/src/b.js\n  2:1  error  Unexpected console statement  no-console\n\n✖ 1 problem (1 error, 0 warnings)',
        exitCode: 1,
      },
      {
        command: 'go test ./...',
        output: '--- FAIL: TestX (0.01s)\n    x_test.go:9: want 1\nFAIL\nFAIL\texample.com/m\t0.01s',
        exitCode: 1,
      },
    ]);
    const report = await parseJobLog(log, { job: 'build' });
    expect(report.job).toBe('build');
    expect(report.tools.sort()).toEqual(['eslint', 'go', 'tsc']);
    expect(report.failures.map((f) => [f.tool, f.file, f.step])).toEqual([
      ['tsc', 'src/a.ts', 'npx tsc --noEmit'],
      ['eslint', 'src/b.js', 'npx eslint .'],
      ['go', 'x_test.go', 'go test ./...'],
    ]);
    // The runner's exit-code lines are not failures when a tool's failures were found.
    expect(report.failures.some((f) => f.message.startsWith('Process completed'))).toBe(false);
  });

  it("starts a parser from the step name, and replays the step's lines before a late signature", async () => {
    // ESLint stylish's file header comes before the first line the detector recognises.
    const report = await parseJobLog('\nsrc/x.js\n  1:1  error  Parsing error: Unexpected token  \n', {
      step: 'Run lint',
    });
    expect(report.failures).toMatchObject([{ tool: 'eslint', file: 'src/x.js', line: 1, step: 'Run lint' }]);
    const late = await parseJobLog('lint output\n\nsrc/x.js\n  1:1  error  Unexpected var  no-var\n');
    expect(late.failures).toMatchObject([
      { tool: 'eslint', file: 'src/x.js', message: 'Unexpected var (no-var)' },
    ]);
  });

  it("reads tsc errors behind a monorepo task runner's prefix (turbo, pnpm -r)", async () => {
    const report = await parseJobLog(
      [
        "@cap/web:typecheck: src/app.ts(7,3): error TS2322: Type 'string' is not assignable to type 'number'.",
        "packages/api typecheck: src/db.ts(1,10): error TS2305: Module './x' has no exported member 'y'.",
      ].join('\n'),
    );
    expect(report.failures.map((f) => [f.file, f.line, f.column])).toEqual([
      ['src/app.ts', 7, 3],
      ['src/db.ts', 1, 10],
    ]);
  });

  it('workflow-command annotations are failures with their file and line', async () => {
    const report = await parseJobLog(
      '::error file=app/main.py,line=4,col=2,title=Lint::E501 line too long\n::notice::fyi\n',
    );
    expect(report.failures).toMatchObject([
      { tool: 'annotation', file: 'app/main.py', line: 4, column: 2, message: 'Lint: E501 line too long' },
    ]);
  });

  it('falls back to the first error-looking block when no tool is recognised, else to the exit code', async () => {
    const log = githubJobLog([
      {
        command: './deploy.sh',
        output:
          'checking 0 errors so far\nuploading\nfatal: could not read from remote repository\nPlease make sure you have access.\n\nbye',
        exitCode: 128,
      },
    ]);
    const report = await parseJobLog(log);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({
      tool: 'generic',
      message: 'fatal: could not read from remote repository',
      step: './deploy.sh',
    });
    expect(report.failures[0]!.excerpt.split('\n')).toEqual([
      'checking 0 errors so far',
      'uploading',
      'fatal: could not read from remote repository',
      'Please make sure you have access.',
    ]);
    const quiet = await parseJobLog(githubJobLog([{ command: 'make', output: 'done', exitCode: 2 }]));
    expect(quiet.failures).toMatchObject([
      { tool: 'generic', message: 'Process completed with exit code 2.' },
    ]);
    // An unknown test runner's exception class counts as error-looking (mocha-like output).
    const mocha = await parseJobLog('  1) cart\n       sums:\n     AssertionError [ERR_ASSERTION]: 3 == 4\n');
    expect(mocha.failures).toMatchObject([
      { tool: 'generic', message: 'AssertionError [ERR_ASSERTION]: 3 == 4' },
    ]);
    expect((await parseJobLog('all good\n')).failures).toEqual([]);
  });

  it('Gradle (built from its documented output format: Gradle cannot run on this machine)', async () => {
    // Written from Gradle's documented console output, not copied from a log: javac errors under a failed task,
    // Kotlin errors, test failures with the exception indented, and the "What went wrong" block.
    const output = [
      '> Task :app:compileJava FAILED',
      '/home/runner/work/shop/shop/app/src/main/java/com/example/Cart.java:5: error: incompatible types: String cannot be converted to int',
      '        int n = "three";',
      '                ^',
      '1 error',
      'e: file:///home/runner/work/shop/shop/lib/src/main/kotlin/Util.kt:3:5 Unresolved reference: foo',
      '',
      '> Task :app:test FAILED',
      '',
      'CartTest > sumsPrices() FAILED',
      '    org.opentest4j.AssertionFailedError at CartTest.java:9',
      '',
      '2 tests completed, 1 failed',
      '',
      'FAILURE: Build failed with an exception.',
      '',
      '* What went wrong:',
      "Execution failed for task ':app:test'.",
      '> There were failing tests.',
      '',
      'BUILD FAILED in 4s',
    ].join('\n');
    const report = await parseJobLog(githubJobLog([{ command: './gradlew build', output, exitCode: 1 }]));
    expect(report.failures.map((f) => [f.tool, f.file, f.line, f.testName, f.message])).toEqual([
      [
        'gradle',
        'app/src/main/java/com/example/Cart.java',
        5,
        undefined,
        'incompatible types: String cannot be converted to int',
      ],
      ['gradle', 'lib/src/main/kotlin/Util.kt', 3, undefined, 'Unresolved reference: foo'],
      ['gradle', 'CartTest.java', 9, 'CartTest > sumsPrices()', 'org.opentest4j.AssertionFailedError'],
    ]);
    const wrongOnly = await parseJobLog(
      'FAILURE: Build failed with an exception.\n\n* What went wrong:\nCould not resolve all dependencies.\n\n',
    );
    expect(wrongOnly.failures).toMatchObject([
      { tool: 'gradle', message: 'Could not resolve all dependencies.' },
    ]);
  });

  it('counts a repeated failure once with its occurrences, and keeps at most maxFailures', async () => {
    const line = (i: number) => `src/f${i}.ts(1,1): error TS2304: Cannot find name 'x'.`;
    const repeated = await parseJobLog([line(1), line(1), line(2)].join('\n'));
    expect(repeated.failures.map((f) => [f.file, f.occurrences])).toEqual([
      ['src/f1.ts', 2],
      ['src/f2.ts', 1],
    ]);
    const many = await parseJobLog(Array.from({ length: 50 }, (_, i) => line(i)).join('\n'), {
      limits: { maxFailures: 10 },
    });
    expect(many.failures).toHaveLength(10);
    expect(many.droppedFailures).toBe(40);
  });

  it('caps excerpts in lines and characters', async () => {
    const output = [
      '--- FAIL: TestBig (0.00s)',
      ...Array.from({ length: 100 }, (_, i) => `    big_test.go:${i + 1}: ${'x'.repeat(300)}`),
      'FAIL',
    ].join('\n');
    const report = await parseJobLog(output, { limits: { maxExcerptLines: 10, maxExcerptChars: 1_000 } });
    const excerpt = report.failures[0]!.excerpt;
    expect(excerpt.length).toBeLessThanOrEqual(1_000 + 40);
    expect(excerpt.split('\n').length).toBeLessThanOrEqual(11);
  });
});
