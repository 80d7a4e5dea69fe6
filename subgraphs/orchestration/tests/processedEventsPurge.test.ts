import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFICATION_CONSUMER_GROUP } from '../src/consumers/taskClassified.js';
import { startOrchestrationHarness, waitFor, type OrchestrationHarness } from './harness.js';

/**
 * Orchestration consumes TaskClassified, so it keeps processed-event marks for deduplication: an instance purges
 * those older than PROCESSED_EVENTS_RETENTION_MS (when it starts, then hourly) and keeps the recent ones.
 */
let cluster: OrchestrationHarness;
beforeAll(async () => {
  cluster = await startOrchestrationHarness();
}, 60_000);
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

describe('processed-event marks in orchestration', () => {
  it('are purged past PROCESSED_EVENTS_RETENTION_MS by a running instance, recent ones kept', async () => {
    // The schema exists once an instance migrated it; the marks are written before the instance under test starts.
    const first = await cluster.start({ WORKER_CONCURRENCY: '0' });
    const { prisma } = first.orchestration.deps;
    const old = randomUUID();
    const recent = randomUUID();
    await prisma.$executeRawUnsafe(
      `INSERT INTO "orchestration"."processed_events" ("consumer_group", "event_id", "processed_at")
       VALUES ($1, $2::uuid, now() - interval '2 hours'), ($1, $3::uuid, now() - interval '10 minutes')`,
      CLASSIFICATION_CONSUMER_GROUP,
      old,
      recent,
    );
    await cluster.start({ WORKER_CONCURRENCY: '0', PROCESSED_EVENTS_RETENTION_MS: String(60 * 60_000) });
    const remaining = async (): Promise<string[]> =>
      (
        await prisma.$queryRawUnsafe<Array<{ event_id: string }>>(
          `SELECT "event_id"::text AS "event_id" FROM "orchestration"."processed_events" WHERE "event_id" = ANY($1::uuid[])`,
          [old, recent],
        )
      ).map((row) => row.event_id);
    await waitFor(async () => !(await remaining()).includes(old), {
      timeoutMs: 10_000,
      message: 'the old mark purged',
    });
    expect(await remaining()).toEqual([recent]);
  }, 60_000);
});
