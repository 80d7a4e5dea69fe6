import { openDatabase, type Database } from '@cap/db';
import { MemoryEventBus } from '@cap/messaging';
import { seededInts, type FakeRun } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCicdDb } from '../src/db.js';
import { recordRun } from '../src/domain/builds.js';
import { LogProcessor } from '../src/domain/logProcessor.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { fakeRun, sha, startCicdHarness, tscLog, type CicdHarness } from './harness.js';
import { runLogsArchive } from './runLogsArchive.js';

/**
 * Two cicd instances on one database download a failed run's log archive once (ADR 0038): each processor claims
 * the build with a lease in the database before downloading, the loser skips, and the lease of an instance that
 * died lapses and is taken over. Each instance here has its own pool and Prisma client, as two processes would.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const REPOSITORY = 'acme/claims';
const instances: Array<{ database: Database; prisma: PrismaClient; logs: LogProcessor }> = [];

/** A cicd log processor as another process would run it: its own database pool and Prisma client. */
async function instance() {
  const database = await openDatabase({ kind: 'postgres', url: h.databaseUrl });
  const prisma = await openCicdDb(database, { migrate: false });
  const logs = new LogProcessor({ ...h.cicd.deps, prisma });
  const opened = { database, prisma, logs };
  instances.push(opened);
  return opened;
}

beforeAll(async () => {
  h = await startCicdHarness({ bus });
});
afterAll(async () => {
  for (const { logs, prisma, database } of instances) {
    await logs.close();
    await prisma.$disconnect();
    await database.close();
  }
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

/** A failed run that lists no jobs, so its logs come from the run's archive (one download per processing). */
async function failedBuild() {
  const run: FakeRun = { ...fakeRun({ branch: 'main', sha: sha() }), jobs: [] };
  run.logArchive = await runLogsArchive([['build/3_Run npx tsc --noEmit.txt', tscLog()]]);
  h.actions.addRun(REPOSITORY, run);
  const api = h.actions.runPayload(REPOSITORY, run) as never;
  const recorded = await recordRun(h.cicd.deps, factsOfApiRun(REPOSITORY, api), 'POLL');
  expect(recorded.newlyFailed).toBe(true);
  return recorded.build;
}

async function stored(buildId: string) {
  const build = await h.cicd.deps.prisma.build.findUniqueOrThrow({
    where: { id: buildId },
    include: { failures: true },
  });
  return {
    logState: build.logState,
    claimedBy: build.logClaimedBy,
    failures: build.failures.map((failure) => `${failure.job}:${failure.tool}:${failure.file}`),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the log claim between instances', () => {
  it('has exactly one of two instances download the archive, over seeded interleavings', async () => {
    const [a, b] = [await instance(), await instance()];
    const next = seededInts(38);
    for (let round = 0; round < 12; round += 1) {
      const build = await failedBuild();
      const before = h.actions.archiveRequests;
      // Each instance starts after its own seeded delay, through a wake (its pass lists the build) or directly.
      const start = async (logs: LogProcessor) => {
        await pause(next(12));
        await (next(2) === 0 ? logs.wake() : logs.process(build));
      };
      await Promise.all([start(a.logs), start(b.logs)]);
      expect(h.actions.archiveRequests - before, `round ${round}`).toBe(1);
      expect(await stored(build.id)).toEqual({
        logState: 'PARSED',
        claimedBy: null,
        failures: ['build:tsc:src/total.ts'],
      });
    }
    expect(h.github.violations).toEqual([]);
  }, 60_000);

  it('skips a build a dead instance holds a live claim on, and takes it over once the lease lapsed', async () => {
    const live = await instance();
    const build = await failedBuild();
    // What an instance that died mid-download leaves behind: its claim, still within its lease.
    await h.cicd.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds" SET log_claimed_by = 'dead-instance',
        log_claim_expires_at = now() + interval '1 hour'
      WHERE id = ${build.id}::uuid`;
    const before = h.actions.archiveRequests;
    await live.logs.process(build);
    await live.logs.wake();
    expect(h.actions.archiveRequests).toBe(before);
    expect(await stored(build.id)).toMatchObject({ logState: 'PENDING', claimedBy: 'dead-instance' });

    // The lease lapses (the database's clock decides): the next pass takes the build.
    await h.cicd.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds" SET log_claim_expires_at = now() - interval '1 second' WHERE id = ${build.id}::uuid`;
    await live.logs.wake();
    expect(h.actions.archiveRequests).toBe(before + 1);
    expect(await stored(build.id)).toEqual({
      logState: 'PARSED',
      claimedBy: null,
      failures: ['build:tsc:src/total.ts'],
    });
  });

  it('stores nothing from an instance whose lapsed claim another instance took over', async () => {
    const [slow, other] = [await instance(), await instance()];
    const build = await failedBuild();
    // `slow` claims, then its lease lapses before it stores (a stall longer than the lease); `other` takes over.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stalled = new LogProcessor({
      ...h.cicd.deps,
      prisma: slow.prisma,
      github: {
        ...h.cicd.deps.github,
        listJobs: async (...args) => {
          await gate;
          return h.cicd.deps.github.listJobs(...args);
        },
      },
    });
    const stalling = stalled.process(build);
    await expect.poll(async () => (await stored(build.id)).claimedBy, { timeout: 10_000 }).not.toBeNull();
    await h.cicd.deps.prisma.$executeRaw`
      UPDATE "cicd"."builds" SET log_claim_expires_at = now() - interval '1 second' WHERE id = ${build.id}::uuid`;
    await other.logs.process(build);
    const taken = await h.cicd.deps.prisma.build.findUniqueOrThrow({ where: { id: build.id } });
    release();
    await stalling;
    await stalled.close();
    // One result, the one of the instance holding the claim: the stalled instance's store changed nothing.
    expect(await stored(build.id)).toEqual({
      logState: 'PARSED',
      claimedBy: null,
      failures: ['build:tsc:src/total.ts'],
    });
    expect(taken.logState).toBe('PARSED');
    expect(await h.cicd.deps.prisma.buildFailure.count({ where: { buildId: build.id } })).toBe(1);
  });
});
