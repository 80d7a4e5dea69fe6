import { UserDeactivated, UserRegistered, type AnyEnvelope } from '@cap/events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, MemoryEventBus, OutboxRelay, runConsumer, type RunningConsumer } from '../src/index.js';
import { createTestSchema, waitFor, type TestSchema } from './support.js';

/**
 * The whole path (enqueue → relay → bus → idempotent consumer → side effect) on the in-memory bus: the
 * same failure stories as kafka.e2e.ts, without a broker.
 */
let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema('delivery');
});
afterAll(() => db.dispose());

const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
  await db.sql.query(
    `TRUNCATE "${db.schema}".outbox_events, "${db.schema}".processed_events, "${db.schema}".applied`,
  );
});

const uuid = (): string => globalThis.crypto.randomUUID();
function events(count: number): AnyEnvelope[] {
  return Array.from({ length: count }, (_, i) => {
    const userId = uuid();
    return i % 2 === 0
      ? UserRegistered.create(
          { userId, email: 'x@example.com', role: 'VIEWER' },
          { source: 'identity', aggregateId: userId },
        )
      : UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId });
  });
}

async function consumer(bus: MemoryEventBus): Promise<RunningConsumer> {
  const running = await runConsumer({
    bus,
    sql: db.sql,
    schema: db.schema,
    groupId: 'delivery-test',
    topics: ['identity.user'],
    handle: async (envelope, ctx) => {
      await ctx.sql.query(`INSERT INTO "${db.schema}".applied (event_id, aggregate_id) VALUES ($1, $2)`, [
        envelope.id,
        envelope.aggregateId,
      ]);
    },
  });
  disposers.push(() => running.close());
  return running;
}

/** event id → how many times the consumer's side effect happened. */
async function applications(): Promise<Map<string, number>> {
  const rows = await db.sql.query<{ event_id: string; n: string }>(
    `SELECT event_id, count(*) AS n FROM "${db.schema}".applied GROUP BY event_id`,
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.n)]));
}

describe('delivery on the memory bus', () => {
  it('applies an event once when the relay dies between publishing and marking', async () => {
    const bus = new MemoryEventBus();
    disposers.push(() => bus.close());
    await consumer(bus);
    const envelopes = events(5);
    await enqueue(db.sql, db.schema, envelopes);

    // The "crash": the hook throws after the publish was acknowledged, so the marking transaction never commits.
    const crashing = new OutboxRelay({
      sql: db.sql,
      schema: db.schema,
      bus,
      afterPublishBeforeMark: () => {
        throw new Error('process killed');
      },
    });
    await expect(crashing.drainOnce()).rejects.toThrow('process killed');
    expect(bus.records('identity.user')).toHaveLength(5);

    // The next relay finds the rows still pending and publishes them again.
    expect(await new OutboxRelay({ sql: db.sql, schema: db.schema, bus }).drainOnce()).toEqual({
      published: 5,
      failed: 0,
    });
    expect(bus.records('identity.user')).toHaveLength(10);

    await waitFor(async () => (await applications()).size === 5, { message: 'all applied' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the duplicates be consumed too
    expect([...(await applications()).values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('keeps events through an outage and delivers each exactly once afterwards', async () => {
    const down = new MemoryEventBus();
    await down.close();
    const outageRelay = new OutboxRelay({
      sql: db.sql,
      schema: db.schema,
      bus: down,
      pollIntervalMs: 10,
      retry: { attempts: 1, baseDelayMs: 5, factor: 2, maxDelayMs: 50 },
    });
    outageRelay.start();
    const envelopes = events(20);
    for (const envelope of envelopes) {
      await db.sql.transaction((tx) => enqueue(tx, db.schema, [envelope]));
      outageRelay.notify();
    }
    await waitFor(
      async () =>
        (
          await db.sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${db.schema}".outbox_events WHERE attempts >= 2 AND published_at IS NULL`,
          )
        )[0]!.n === '20',
      { message: 'every event failed at least twice' },
    );
    await outageRelay.stop();

    const bus = new MemoryEventBus();
    disposers.push(() => bus.close());
    await consumer(bus);
    const relay = new OutboxRelay({
      sql: db.sql,
      schema: db.schema,
      bus,
      pollIntervalMs: 10,
      retry: { maxDelayMs: 50 },
    });
    relay.start();
    disposers.push(() => relay.stop());
    await waitFor(async () => (await applications()).size === 20, { message: 'all applied after recovery' });
    const counts = await applications();
    expect(envelopes.map((envelope) => counts.get(envelope.id))).toEqual(envelopes.map(() => 1));
  });
});
