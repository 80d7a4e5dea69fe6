import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@cap/testkit';
import { ErrorCode } from '@cap/runtime';
import {
  DEFAULT_CI_LOG_LIMITS,
  isCiLogError,
  normaliseMessage,
  parseJobLog,
  type LogSource,
} from '@cap/ci-logs';

async function refusal(
  source: LogSource,
  limits = {},
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await parseJobLog(source, { limits });
  } catch (error) {
    if (isCiLogError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('the log was accepted');
}

/** A source of `total` bytes of `line` repeated, in chunks of whole lines up to 1 MiB; counts what it produced. */
function repeated(line: string, total: number): { source: AsyncIterable<Buffer>; produced: () => number } {
  const chunk = Buffer.from(line.repeat(Math.max(1, Math.floor((1024 * 1024) / line.length))), 'utf8');
  let produced = 0;
  return {
    produced: () => produced,
    source: (async function* () {
      while (produced < total) {
        produced += chunk.length;
        yield chunk;
      }
    })(),
  };
}

describe('hostile and malformed logs', { timeout: 120_000 }, () => {
  it('refuses binary input of any shape with CI_LOG_NOT_TEXT (generated: random bytes, gzip, Latin-1, controls)', async () => {
    const random = seededRandom(7);
    const text = Buffer.from('src/a.ts(1,1): error TS2304: Cannot find name x.\n'.repeat(200));
    const cases: Buffer[] = [
      gzipSync(text),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + (i % 128))),
    ];
    cases.push(Buffer.from(Array.from({ length: 4096 }, (_, i) => 1 + (i % 8))));
    for (let i = 0; i < 40; i++) {
      cases.push(
        Buffer.from(
          Array.from({ length: 16 + Math.floor(random() * 20_000) }, () => Math.floor(random() * 256)),
        ),
      );
    }
    for (const input of cases) expect((await refusal(input)).code).toBe(ErrorCode.CI_LOG_NOT_TEXT);
    // A NUL byte deep inside an otherwise valid log is found where it is, in a later chunk.
    const withNul = Buffer.concat([text, Buffer.from([0]), text]);
    const found = await refusal([withNul.subarray(0, 5_000), withNul.subarray(5_000)]);
    expect(found).toEqual({ code: ErrorCode.CI_LOG_NOT_TEXT, details: { offset: text.length } });
    // As a client would see it through a subgraph: the code and the details in the extensions.
    const error = await parseJobLog(withNul).catch((caught: unknown) => caught);
    expect(isCiLogError(error) && error.toGraphQLError().extensions).toEqual({
      code: 'CI_LOG_NOT_TEXT',
      offset: text.length,
    });
  });

  it('refuses a 200 MB log over the default limit without reading it whole', async () => {
    const { source, produced } = repeated(`${'x'.repeat(4_000)}\n`, 200 * 1024 * 1024);
    const { code, details } = await refusal(source);
    expect(code).toBe(ErrorCode.CI_LOG_TOO_LARGE);
    expect(details).toMatchObject({ limit: 'maxLogBytes', max: DEFAULT_CI_LOG_LIMITS.maxLogBytes });
    expect(produced()).toBeLessThanOrEqual(DEFAULT_CI_LOG_LIMITS.maxLogBytes + 1024 * 1024);
  });

  it('parses a 200 MB log with a raised limit in bounded memory, failures at both ends found', async () => {
    const failure = (file: string) => Buffer.from(`${file}(1,1): error TS2304: Cannot find name 'x'.\n`);
    const { source } = repeated(`${'y'.repeat(2_000)}\n`, 200 * 1024 * 1024);
    let peak = 0;
    const base = process.memoryUsage().heapUsed;
    const log = (async function* () {
      yield failure('src/first.ts');
      for await (const chunk of source) {
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        yield chunk;
      }
      yield failure('src/last.ts');
    })();
    const report = await parseJobLog(log, { limits: { maxLogBytes: 256 * 1024 * 1024 } });
    expect(report.failures.map((f) => f.file)).toEqual(['src/first.ts', 'src/last.ts']);
    expect(report.bytes).toBeGreaterThan(200 * 1024 * 1024);
    expect(peak).toBeLessThan(96 * 1024 * 1024);
  });

  it('cuts an endless line at maxLineChars instead of buffering it', async () => {
    const { source } = repeated('z', 20 * 1024 * 1024);
    const report = await parseJobLog(source, { limits: { maxLineChars: 1_000 } });
    expect(report.lines).toBe(1);
    expect(report.failures).toEqual([]);
  });

  it('stays linear on generated adversarial lines, every parser started (would time out if any regex backtracked)', async () => {
    // Every tool's signature first, so every parser sees every adversarial line.
    const prelude = [
      'error TS1005: x',
      '  1:1  error  x  rule',
      ' RUN  v4.0.0 /w',
      'FAIL src/a.test.js',
      'TAP version 13',
      '✖ failing tests:',
      '=== FAILURES ===',
      '--- FAIL: TestX (0.00s)',
      'error[E0308]: x',
      '[INFO] Scanning for projects...',
      '> Task :app:test',
    ];
    const pieces = [
      ' ',
      ':',
      '(',
      '0',
      '1:',
      '=',
      '_',
      '=  ',
      '_ ',
      "'",
      '"',
      '`',
      ' > ',
      ' › ',
      '[ERROR] ',
      ' -- Time elapsed: ',
      '<<< FAILURE!',
      '\x1b[',
      '\x1b]',
      '\x1b[1;',
      '.go:',
      '.java:',
      '.py:',
      '.ts(',
      ') : error TS1: ',
      ' [Error/',
      ' (',
      ' at ',
      '⎯',
      '✖ ',
      '--- FAIL: ',
      'error: ',
      'E ',
      ':1:1: ',
      ': line 1, col 1, Error - ',
      ' FAILED',
      'not ok 1 - ',
      ' ❯ ',
      '::',
      '%0A',
      '0x',
      'a1',
      '/tmp/',
      '2026-12-06T10:00:00Z ',
      '12345678-1234-1234-1234-123456789abc ',
    ];
    const lines: string[] = [...prelude];
    for (const piece of pieces) {
      const body = piece.repeat(Math.ceil(16_000 / piece.length)).slice(0, 16_000);
      for (const [prefix, suffix] of [
        ['', ''],
        ['', '!'],
        ['  1:1  error  ', ' x'],
        ['[ERROR] ', ' x'],
        ['=== ', '=x'],
        ['e: ', '.kt:1:1 '],
      ]) {
        lines.push(`${prefix}${body}${suffix}`);
      }
    }
    const started = Date.now();
    const report = await parseJobLog(lines.join('\n'), { step: 'Run npm test' });
    expect(report.lines).toBe(lines.length);
    for (const line of lines.slice(prelude.length, prelude.length + 40)) normaliseMessage(line);
    // A budget, not a speed claim: quadratic matching on 16,000-character lines takes minutes here.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
