import { randomBytes } from 'node:crypto';
import { MemoryEventBus } from '@cap/messaging';
import { userPrincipal, type FakeRun } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/domain/builds.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import { fakeRun, sha, startCicdHarness, tscLog, type CicdHarness } from './harness.js';
import { runLogsArchive } from './runLogsArchive.js';

/**
 * The run-logs archive: when a failed job's plain log is gone (404/410) or the run lists no jobs, cicd reads the
 * run attempt's ZIP instead (downloaded to a temporary file under CI_LOG_MAX_BYTES, never whole in memory).
 * Malformed archives (truncated, binary entries, over the limit, not a ZIP) are a coded parse error on the build,
 * nothing crashes, and the subgraph keeps serving.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const reader = userPrincipal('VIEWER');
const REPOSITORY = 'acme/archives';
/** Small enough that a generated 200 MB archive is refused early. */
const LOG_LIMIT = 1024 * 1024;

beforeAll(async () => {
  h = await startCicdHarness({ bus, env: { CI_LOG_MAX_BYTES: String(LOG_LIMIT) } });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

const BUILD = /* GraphQL */ `
  query ($id: ID!) {
    build(id: $id) {
      logState
      parseErrorCode
      parseError
      failures {
        job
        tool
        file
        line
      }
    }
  }
`;

/** Reports `run` as failed, processes its logs, and returns the build as the graph shows it. */
async function processed(run: FakeRun) {
  h.actions.addRun(REPOSITORY, run);
  const api = h.actions.runPayload(REPOSITORY, run) as never;
  const recorded = await recordRun(h.cicd.deps, factsOfApiRun(REPOSITORY, api), 'POLL');
  expect(recorded.newlyFailed).toBe(true);
  await h.cicd.logs.process(recorded.build);
  const result = await h.call(BUILD, { id: recorded.build.id }, reader);
  expect(result.errors).toBeUndefined();
  return result.data!.build as {
    logState: string;
    parseErrorCode: string | null;
    parseError: string | null;
    failures: Array<{ job: string; tool: string; file: string | null; line: number | null }>;
  };
}

const gone = (status: 404 | 410) => ({ gone: status }) as const;

describe('the run-logs archive', () => {
  it("reads a failed job's failures from the run's ZIP when its plain log is gone (404 and 410)", async () => {
    for (const status of [404, 410] as const) {
      const run = fakeRun({ branch: 'main', sha: sha(), log: gone(status) });
      run.logArchive = await runLogsArchive([
        ['typecheck/1_Set up job.txt', '2026-12-06T10:00:00.0000000Z Preparing\n'],
        ['typecheck/2_Run npx tsc --noEmit.txt', tscLog()],
        ['1_typecheck.txt', tscLog()],
      ]);
      const before = h.actions.archiveRequests;
      const build = await processed(run);
      expect(build).toMatchObject({ logState: 'PARSED', parseErrorCode: null });
      expect(build.failures).toEqual([{ job: 'typecheck', tool: 'tsc', file: 'src/total.ts', line: 3 }]);
      expect(h.actions.archiveRequests).toBe(before + 1);
    }
    expect(h.github.violations).toEqual([]);
  });

  it('reads the ZIP when the run lists no jobs, and not at all when the plain logs were read', async () => {
    const empty = { ...fakeRun({ branch: 'main', sha: sha() }), jobs: [] };
    empty.logArchive = await runLogsArchive([['build/3_Run npx tsc --noEmit.txt', tscLog()]]);
    const build = await processed(empty);
    expect(build.failures).toEqual([{ job: 'build', tool: 'tsc', file: 'src/total.ts', line: 3 }]);

    const plain = fakeRun({ branch: 'main', sha: sha() });
    plain.logArchive = await runLogsArchive([['typecheck/1_x.txt', 'never read']]);
    const before = h.actions.archiveRequests;
    expect((await processed(plain)).failures).toHaveLength(1);
    expect(h.actions.archiveRequests).toBe(before);
  });

  it('gives a coded parse error for a truncated, binary, oversized or missing archive; nothing crashes', async () => {
    const good = await runLogsArchive([['typecheck/2_Run npx tsc --noEmit.txt', tscLog()]]);
    const binary = await runLogsArchive([
      ['typecheck/2_Run.txt', Buffer.concat([Buffer.from([0, 1, 2, 0xff]), randomBytes(20_000)])],
    ]);
    const cases: Array<{ archive: FakeRun['logArchive']; code: string }> = [
      { archive: good.subarray(0, Math.floor(good.length / 2)), code: 'CI_LOG_ARCHIVE_INVALID' },
      { archive: Buffer.from('this is not a zip at all\n'), code: 'CI_LOG_ARCHIVE_INVALID' },
      { archive: binary, code: 'CI_LOG_NOT_TEXT' },
      // 200 MB generated as a stream by the fake's log storage; refused once past CI_LOG_MAX_BYTES.
      { archive: { bytes: 200 * 1024 * 1024 }, code: 'CI_LOG_TOO_LARGE' },
      { archive: undefined, code: 'GITHUB_UNAVAILABLE' },
    ];
    for (const { archive, code } of cases) {
      const run = fakeRun({ branch: 'main', sha: sha(), log: gone(404) });
      if (archive !== undefined) run.logArchive = archive;
      const build = await processed(run);
      expect({ state: build.logState, code: build.parseErrorCode }).toEqual({ state: 'FAILED', code });
      expect(build.parseError).toBeTruthy();
      expect(build.failures).toEqual([]);
    }
    // Still serving: the next failure is understood.
    const after = fakeRun({ branch: 'main', sha: sha(), log: gone(410) });
    after.logArchive = good;
    expect((await processed(after)).failures).toHaveLength(1);
    expect(h.github.violations).toEqual([]);
  }, 120_000);
});
