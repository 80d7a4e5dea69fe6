import { readFile } from 'node:fs/promises';
import { EventErrorCode, isEventError, UserDeactivated, UserRegistered, type AnyEnvelope } from '@cap/events';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  enqueue,
  EventHeader,
  MemoryEventBus,
  OutboxRelay,
  outboxDdl,
  pgExecutor,
  purgePublished,
  type OutboxRelayOptions,
} from '../src/index.js';
import { createTestSchema, DATABASE_URL, recordingLogger, waitFor, type TestSchema } from './support.js';

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema('outbox');
});
afterAll(() => db.dispose());
afterEach(async () => {
  await db.sql.query(`TRUNCATE "${db.schema}".outbox_events`);
});

const uuid = (): string => globalThis.crypto.randomUUID();
const registered = (userId = uuid(), metadata: AnyEnvelope['metadata'] = {}) =>
  UserRegistered.create(
    { userId, email: `${userId.slice(0, 8)}@example.com`, role: 'DEVELOPER' },
    { source: 'identity', aggregateId: userId, metadata },
  );
const deactivated = (userId: string) =>
  UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId });

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  type: string;
  version: number;
  payload: AnyEnvelope;
  headers: Record<string, string>;
  published_at: Date | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
}
const rows = (): Promise<OutboxRow[]> =>
  db.sql.query<OutboxRow>(`SELECT * FROM "${db.schema}".outbox_events ORDER BY seq`);

const relays: OutboxRelay[] = [];
const buses: MemoryEventBus[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});
function relayWith(options: Partial<OutboxRelayOptions> & { bus: OutboxRelayOptions['bus'] }): OutboxRelay {
  const relay = new OutboxRelay({ sql: db.sql, schema: db.schema, retry: { baseDelayMs: 5 }, ...options });
  relays.push(relay);
  return relay;
}
function memoryBus(): MemoryEventBus {
  const bus = new MemoryEventBus();
  buses.push(bus);
  return bus;
}

describe('OUTBOX.md', () => {
  it('documents exactly the DDL outboxDdl() creates', async () => {
    const doc = await readFile(new URL('../OUTBOX.md', import.meta.url), 'utf8');
    const sql = /```sql\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(sql?.trim()).toBe(outboxDdl('identity').trim());
    expect(doc).toContain('model OutboxEvent {');
    expect(doc).toContain('model ProcessedEvent {');
  });
});

describe('enqueue', () => {
  it('writes nothing when the surrounding transaction rolls back, everything when it commits', async () => {
    await expect(
      db.sql.transaction(async (tx) => {
        await enqueue(tx, db.schema, [registered()]);
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    expect(await rows()).toEqual([]);

    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const envelope = registered(uuid(), { requestId: 'req-42', traceparent });
    await db.sql.transaction((tx) => enqueue(tx, db.schema, [envelope]));
    const [row] = await rows();
    expect(row).toMatchObject({
      id: envelope.id,
      topic: 'identity.user',
      key: envelope.aggregateId,
      type: 'UserRegistered',
      version: 1,
      payload: envelope,
      published_at: null,
      attempts: 0,
      headers: {
        [EventHeader.EVENT_ID]: envelope.id,
        [EventHeader.EVENT_TYPE]: 'UserRegistered',
        [EventHeader.EVENT_VERSION]: '1',
        [EventHeader.TRACEPARENT]: traceparent,
        [EventHeader.REQUEST_ID]: 'req-42',
      },
    });
  });

  it('refuses an envelope that is not one, and writes none of the batch', async () => {
    const broken = { ...registered(), id: 'not-a-uuid' };
    try {
      await enqueue(db.sql, db.schema, [registered(), broken]);
      expect.unreachable();
    } catch (error) {
      expect(isEventError(error, EventErrorCode.VALIDATION_FAILED)).toBe(true);
      expect((error as Error).message).toContain('id');
    }
    expect(await rows()).toEqual([]);
  });
});

describe('OutboxRelay', () => {
  it('publishes pending events with their headers, in order per key, and marks them published', async () => {
    const bus = memoryBus();
    const users = [uuid(), uuid(), uuid()];
    const envelopes = users.flatMap((userId) => [registered(userId), deactivated(userId)]);
    await enqueue(db.sql, db.schema, envelopes);

    const result = await relayWith({ bus }).drainOnce();
    expect(result).toEqual({ published: 6, failed: 0 });
    const published = bus.records('identity.user');
    expect(published.map((record) => JSON.parse(record.value))).toEqual(envelopes);
    expect(published[0]!.headers[EventHeader.EVENT_ID]).toBe(envelopes[0]!.id);
    expect((await rows()).every((row) => row.published_at !== null)).toBe(true);

    // Nothing left: a second pass publishes nothing more.
    expect(await relayWith({ bus }).drainOnce()).toEqual({ published: 0, failed: 0 });
    expect(bus.records('identity.user')).toHaveLength(6);
  });

  it('retries a failed publish, then leaves the rows pending with the error and a later attempt time', async () => {
    const down = memoryBus();
    await down.close(); // every publish now fails, like a broker that is down
    const logger = recordingLogger();
    const envelopes = [registered(), registered()];
    await enqueue(db.sql, db.schema, envelopes);

    const before = Date.now();
    const result = await relayWith({
      bus: down,
      logger,
      retry: { attempts: 3, baseDelayMs: 5, factor: 2 },
    }).drainOnce();
    expect(result).toEqual({ published: 0, failed: 2 });
    expect(logger.entries.filter((entry) => entry.msg === 'publish failed; retrying')).toHaveLength(3);
    const pending = await rows();
    for (const row of pending) {
      expect(row.published_at).toBeNull();
      expect(row.attempts).toBe(1);
      expect(row.last_error).toContain('closed');
      // 5 ms * 2^(3 + 0) = 40 ms after the failing transaction began (PostgreSQL's now()), itself after `before`;
      // measured from `before`, not from the end of the drain, whose length depends on the machine's load.
      expect(row.next_attempt_at.getTime()).toBeGreaterThanOrEqual(before + 40 - 1);
    }

    // Back up: not before the rows are due, then all of them.
    const up = memoryBus();
    const relay = relayWith({ bus: up, retry: { attempts: 3, baseDelayMs: 5, factor: 2 } });
    await waitFor(async () => (await relay.drainOnce()).published === 2, { message: 'rows due again' });
    expect(up.records('identity.user').map((record) => JSON.parse(record.value).id)).toEqual(
      envelopes.map((e) => e.id),
    );
    expect((await rows()).every((row) => row.published_at !== null && row.attempts === 1)).toBe(true);
  });

  it('holds a key back behind an older event of that key that waits for its retry', async () => {
    const bus = memoryBus();
    const [stuck, free] = [uuid(), uuid()];
    const first = registered(stuck);
    await enqueue(db.sql, db.schema, [first, deactivated(stuck), registered(free)]);
    await db.sql.query(
      `UPDATE "${db.schema}".outbox_events SET next_attempt_at = now() + interval '1 hour' WHERE id = $1`,
      [first.id],
    );

    expect(await relayWith({ bus }).drainOnce()).toEqual({ published: 1, failed: 0 });
    expect(bus.records('identity.user').map((record) => record.key)).toEqual([free]);
  });

  it('lets concurrent relays share the work: every event published once, each key in order', async () => {
    const bus = memoryBus();
    const keys = Array.from({ length: 8 }, () => uuid());
    const envelopes: AnyEnvelope[] = [];
    for (let round = 0; round < 30; round += 1) {
      for (const key of keys) envelopes.push(round % 2 === 0 ? registered(key) : deactivated(key));
    }
    // Several transactions, like several requests.
    for (let start = 0; start < envelopes.length; start += 16) {
      await db.sql.transaction((tx) => enqueue(tx, db.schema, envelopes.slice(start, start + 16)));
    }
    // Separate pools: separate connections, as separate processes would have.
    const pools = [
      new pg.Pool({ connectionString: DATABASE_URL }),
      new pg.Pool({ connectionString: DATABASE_URL }),
    ];
    try {
      const executors = [db.sql, ...pools.map((pool) => pgExecutor(pool))];
      const competing = executors.map(
        (sql) => new OutboxRelay({ sql, schema: db.schema, bus, batchSize: 7, retry: { baseDelayMs: 5 } }),
      );
      const counts = await Promise.all(
        competing.map(async (relay) => {
          let published = 0;
          for (let pass = 0; pass < 200; pass += 1) {
            const result = await relay.drainOnce();
            published += result.published;
            if ((await rows()).every((row) => row.published_at !== null)) break;
          }
          return published;
        }),
      );
      expect(counts.reduce((a, b) => a + b, 0)).toBe(envelopes.length);
      expect(counts.filter((count) => count > 0).length).toBeGreaterThan(1);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const published = bus.records('identity.user').map((record) => JSON.parse(record.value) as AnyEnvelope);
    expect(published.map((envelope) => envelope.id).sort()).toEqual(
      envelopes.map((envelope) => envelope.id).sort(),
    );
    for (const key of keys) {
      expect(published.filter((e) => e.aggregateId === key).map((e) => e.id)).toEqual(
        envelopes.filter((e) => e.aggregateId === key).map((e) => e.id),
      );
    }
  });

  it('publishes right after notify() instead of waiting for the next poll, and stops cleanly', async () => {
    const bus = memoryBus();
    const relay = relayWith({ bus, pollIntervalMs: 60_000 });
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 50)); // first, empty pass is over; it now sleeps 60 s
    const started = Date.now();
    await enqueue(db.sql, db.schema, [registered()]);
    relay.notify();
    await waitFor(() => bus.records('identity.user').length === 1, {
      timeoutMs: 2_000,
      message: 'publish after notify',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    await relay.stop();
  });

  it('purges published rows past their retention and never pending ones', async () => {
    const bus = memoryBus();
    await enqueue(db.sql, db.schema, [registered(), registered()]);
    await relayWith({ bus }).drainOnce();
    await enqueue(db.sql, db.schema, [registered()]);
    expect(await purgePublished(db.sql, db.schema, 0)).toBe(2);
    const left = await rows();
    expect(left).toHaveLength(1);
    expect(left[0]!.published_at).toBeNull();
  });
});
