import { UserRegistered } from '@cap/events';
import { seededRandom } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventBus, ProcessedEventsPurger, runConsumer, toBusRecord } from '../src/index.js';
import { createTestSchema, waitFor, type TestSchema } from './support.js';

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema('purge');
});
afterAll(() => db.dispose());

const uuid = (): string => globalThis.crypto.randomUUID();
const DAY_MS = 24 * 60 * 60 * 1000;

/** Inserts a processed-mark that is `ageMs` old. */
async function mark(group: string, ageMs: number): Promise<string> {
  const id = uuid();
  await db.sql.query(
    `INSERT INTO "${db.schema}".processed_events (consumer_group, event_id, processed_at)
     VALUES ($1, $2, now() - ($3::float8 * interval '1 millisecond'))`,
    [group, id, ageMs],
  );
  return id;
}

async function remaining(group: string): Promise<Set<string>> {
  const rows = await db.sql.query<{ event_id: string }>(
    `SELECT event_id FROM "${db.schema}".processed_events WHERE consumer_group = $1`,
    [group],
  );
  return new Set(rows.map((row) => row.event_id));
}

describe('ProcessedEventsPurger', () => {
  it('removes exactly the marks older than the retention, over generated ages', async () => {
    const retentionMs = 7 * DAY_MS;
    // Deterministic pseudo-random ages on both sides of the boundary (a minute of margin: now() moves).
    const next = seededRandom(42);
    const group = `g-${uuid()}`;
    const expectedKept = new Set<string>();
    const expectedGone = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const old = next() < 0.5;
      const ageMs = old ? retentionMs + 60_000 + next() * 30 * DAY_MS : next() * (retentionMs - 60_000);
      (old ? expectedGone : expectedKept).add(await mark(group, ageMs));
    }
    const purger = new ProcessedEventsPurger({ sql: db.sql, schema: db.schema, retentionMs });
    const deleted = await purger.purgeNow();
    await purger.close();
    const left = await remaining(group);
    expect(deleted).toBeGreaterThanOrEqual(expectedGone.size);
    expect([...expectedGone].filter((id) => left.has(id))).toEqual([]);
    expect([...expectedKept].filter((id) => !left.has(id))).toEqual([]);
  });

  it('runs on its schedule once started and stops on close', async () => {
    const group = `g-${uuid()}`;
    const old = await mark(group, 2 * DAY_MS);
    const purger = new ProcessedEventsPurger({
      sql: db.sql,
      schema: db.schema,
      retentionMs: DAY_MS,
      intervalMs: 50,
    }).start();
    await waitFor(async () => !(await remaining(group)).has(old), { message: 'the scheduled purge' });
    const later = await mark(group, 2 * DAY_MS);
    await waitFor(async () => !(await remaining(group)).has(later), { message: 'the next scheduled purge' });
    await purger.close();
    const afterClose = await mark(group, 2 * DAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await remaining(group)).has(afterClose)).toBe(true);
  });

  it('still deduplicates a replay inside the retention after a purge', async () => {
    const bus = new MemoryEventBus();
    const groupId = `g-${uuid()}`;
    const applied: string[] = [];
    const consumer = await runConsumer({
      bus,
      sql: db.sql,
      schema: db.schema,
      groupId,
      topics: ['identity.user'],
      handle: async (envelope) => {
        applied.push(envelope.id);
      },
    });
    try {
      const userId = uuid();
      const envelope = UserRegistered.create(
        { userId, email: 'someone@example.com', role: 'VIEWER' },
        { source: 'identity', aggregateId: userId },
      );
      await bus.publish([toBusRecord(envelope)]);
      await waitFor(async () => (await remaining(groupId)).has(envelope.id), { message: 'first delivery' });
      const purger = new ProcessedEventsPurger({ sql: db.sql, schema: db.schema, retentionMs: DAY_MS });
      await purger.purgeNow();
      await purger.close();
      expect((await remaining(groupId)).has(envelope.id)).toBe(true);
      // The replay, and a marker event after it: once the marker is processed, the replay has been handled.
      const markerId = uuid();
      const marker = UserRegistered.create(
        { userId: markerId, email: 'marker@example.com', role: 'VIEWER' },
        { source: 'identity', aggregateId: userId },
      );
      await bus.publish([toBusRecord(envelope), toBusRecord(marker)]);
      await waitFor(async () => (await remaining(groupId)).has(marker.id), { message: 'the marker' });
      expect(applied).toEqual([envelope.id, marker.id]);
    } finally {
      await consumer.close();
      await bus.close();
    }
  });
});
