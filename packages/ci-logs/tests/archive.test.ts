import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { ErrorCode } from '@cap/runtime';
import { seededRandom } from '@cap/testkit';
import { isCiLogError, parseCiLogFile, parseRunLogArchive, type CiLogLimits } from '@cap/ci-logs';
import { githubJobLog } from './githubFormat.js';

const dir = mkdtempSync(join(tmpdir(), 'cap-ci-logs-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds a ZIP in memory with yazl (deflated entries; a name ending in `/` is a folder). */
function zip(entries: [string, string | Buffer][]): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const [name, content] of entries) {
    if (name.endsWith('/')) archive.addEmptyDirectory(name);
    else
      archive.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { compress: true });
  }
  archive.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    archive.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    archive.outputStream.on('error', reject);
  });
}

/** Overwrites a 16/32-bit field of every central-directory record (`PK\x01\x02`) at `offset` from its start. */
function patchCentral(buffer: Buffer, offset: number, value: number, bytes: 2 | 4): Buffer {
  const copy = Buffer.from(buffer);
  for (let at = copy.indexOf('PK\x01\x02'); at !== -1; at = copy.indexOf('PK\x01\x02', at + 4)) {
    if (bytes === 2) copy.writeUInt16LE(value, at + offset);
    else copy.writeUInt32LE(value, at + offset);
  }
  return copy;
}

async function refusal(input: Buffer, limits: Partial<CiLogLimits> = {}) {
  try {
    await parseRunLogArchive(input, { limits });
  } catch (error) {
    if (isCiLogError(error)) return { code: error.code, details: error.details, message: error.message };
    throw error;
  }
  throw new Error('the archive was accepted');
}

const step = (command: string, output: string, exitCode?: number) =>
  githubJobLog([{ command, output, ...(exitCode ? { exitCode } : {}) }]);

describe('run-logs archives', () => {
  it('parses a folder per job and a file per step, in step order, skipping the whole-job copies', async () => {
    const tsc = step(
      'npx tsc --noEmit',
      "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.",
      2,
    );
    const archive = await zip([
      ['0_build.txt', tsc],
      ['build/', ''],
      ['build/1_Set up job.txt', step('echo setup', 'Runner version 2.330.0')],
      [
        'build/4_Test.txt',
        step(
          'npx vitest run',
          ' FAIL  src/b.test.ts > adds\nAssertionError: expected 1 to be 2\n ❯ src/b.test.ts:4:7\n⎯⎯⎯',
          1,
        ),
      ],
      ['build/3_Typecheck.txt', tsc],
      ['lint/2_Lint.txt', step('npx eslint .', '\nsrc/c.js\n  1:1  error  Unexpected var  no-var\n', 1)],
      ['1_deploy.txt', step('./deploy.sh', 'Error: the deploy key was rejected', 1)],
    ]);
    const path = join(dir, 'run.zip');
    writeFileSync(path, archive);
    for (const report of [
      await parseRunLogArchive(path),
      await parseRunLogArchive(archive),
      await parseCiLogFile(path),
    ]) {
      expect(report.entries).toBe(7);
      expect(
        report.jobs.map((job) => [
          job.job,
          job.failures.map((f) => [f.tool, f.file ?? null, f.step ?? null]),
        ]),
      ).toEqual([
        [
          'build',
          [
            ['tsc', 'src/a.ts', 'Typecheck'],
            ['vitest', 'src/b.test.ts', 'Test'],
          ],
        ],
        ['lint', [['eslint', 'src/c.js', 'Lint']]],
        ['deploy', [['generic', null, './deploy.sh']]],
      ]);
    }
  });

  it('reads a plain-text log file as a run of one job', async () => {
    const path = join(dir, 'job.txt');
    writeFileSync(
      path,
      step('go vet ./...', './main.go:6:2: fmt.Printf format %d has arg "x" of wrong type string', 1),
    );
    const report = await parseCiLogFile(path);
    expect(report.jobs).toHaveLength(1);
    expect(report.jobs[0]!.failures).toMatchObject([{ tool: 'go', file: 'main.go', line: 6, column: 2 }]);
  });

  it('refuses what is not a ZIP, and truncated archives, with CI_LOG_ARCHIVE_INVALID', async () => {
    const archive = await zip([['job/1_Test.txt', step('npm test', 'ok')]]);
    expect((await refusal(Buffer.from('not a zip at all, just text'))).code).toBe(
      ErrorCode.CI_LOG_ARCHIVE_INVALID,
    );
    for (const keep of [0, 10, 30, archive.length / 2, archive.length - 30, archive.length - 1]) {
      expect((await refusal(archive.subarray(0, Math.floor(keep)))).code).toBe(
        ErrorCode.CI_LOG_ARCHIVE_INVALID,
      );
    }
    const encrypted = patchCentral(archive, 8, 1, 2);
    expect(await refusal(encrypted)).toMatchObject({
      code: ErrorCode.CI_LOG_ARCHIVE_INVALID,
      message: expect.stringContaining('encrypted'),
    });
    const method = patchCentral(archive, 10, 12, 2);
    expect(await refusal(method)).toMatchObject({
      code: ErrorCode.CI_LOG_ARCHIVE_INVALID,
      message: expect.stringContaining('method 12'),
    });
  });

  it('answers every corrupted byte position with a report or a coded error, never a crash or a hang (generated)', async () => {
    const archive = await zip([
      [
        'job/1_Build.txt',
        step('npx tsc', "src/a.ts(1,1): error TS2304: Cannot find name 'x'.\n".repeat(50), 2),
      ],
      ['job/2_Test.txt', step('npm test', 'all passed\n'.repeat(100))],
    ]);
    const random = seededRandom(3);
    const outcomes = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const corrupted = Buffer.from(archive);
      corrupted[Math.floor(random() * corrupted.length)] = Math.floor(random() * 256);
      try {
        await parseRunLogArchive(corrupted);
        outcomes.add('report');
      } catch (error) {
        expect(isCiLogError(error), String(error)).toBe(true);
        outcomes.add((error as { code: string }).code);
      }
    }
    expect(outcomes.has('report')).toBe(true);
    expect(outcomes.has(ErrorCode.CI_LOG_ARCHIVE_INVALID)).toBe(true);
  });

  it('refuses zip bombs: compression ratio (declared and, when sizes are forged, while inflating)', async () => {
    const bomb = await zip([['job/1_Test.txt', Buffer.alloc(64 * 1024 * 1024, 0x61)]]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect((await refusal(bomb)).details).toMatchObject({
      limit: 'maxCompressionRatio',
      max: 200,
      entry: 'job/1_Test.txt',
    });
    // The central directory lies: 2 MiB declared (ratio under the limit); the inflated bytes give it away.
    const forged = patchCentral(bomb, 24, 2 * 1024 * 1024, 4);
    const refused = await refusal(forged, { maxCompressionRatio: 2 * 1024 * 1024 });
    expect([ErrorCode.CI_LOG_ARCHIVE_LIMIT_EXCEEDED, ErrorCode.CI_LOG_ARCHIVE_INVALID]).toContain(
      refused.code,
    );
    const lying = await refusal(patchCentral(bomb, 24, 2 * 1024 * 1024, 4));
    expect([ErrorCode.CI_LOG_ARCHIVE_LIMIT_EXCEEDED, ErrorCode.CI_LOG_ARCHIVE_INVALID]).toContain(lying.code);
  });

  it('refuses too many entries, too many bytes in all, too large an entry, and binary entries', async () => {
    const many = await zip(Array.from({ length: 30 }, (_, i): [string, string] => [`job/${i}_s.txt`, 'ok']));
    expect((await refusal(many, { maxArchiveEntries: 20 })).details).toEqual({
      limit: 'maxArchiveEntries',
      max: 20,
      actual: 30,
    });
    const big = 'line of output\n'.repeat(40_000);
    const two = await zip([
      ['a/1_x.txt', big],
      ['b/1_y.txt', big],
    ]);
    expect((await refusal(two, { maxArchiveBytes: big.length + 10 })).details).toMatchObject({
      limit: 'maxArchiveBytes',
    });
    expect((await refusal(two, { maxLogBytes: 1000 })).details).toMatchObject({
      limit: 'maxLogBytes',
      entry: 'a/1_x.txt',
    });
    const binary = await zip([
      ['job/1_x.txt', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256))],
    ]);
    expect((await refusal(binary)).code).toBe(ErrorCode.CI_LOG_NOT_TEXT);
  });
});
