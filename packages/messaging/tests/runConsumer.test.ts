import { UserDeactivated, UserRegistered, type AnyEnvelope, type eventContracts } from '@cap/events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DlqHeader,
  dlqTopic,
  MemoryEventBus,
  MessagingErrorCode,
  outboxDdl,
  runConsumer,
  toBusRecord,
  type ConsumerContext,
  type RunConsumerOptions,
  type RunningConsumer,
} from '../src/index.js';
import { createTestSchema, recordingLogger, waitFor, type TestSchema } from './support.js';

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema('consumer');
});
afterAll(() => db.dispose());

const uuid = (): string => globalThis.crypto.randomUUID();
const registered = (userId = uuid(), metadata: AnyEnvelope['metadata'] = {}) =>
  UserRegistered.create(
    { userId, email: 'someone@example.com', role: 'VIEWER' },
    { source: 'identity', aggregateId: userId, metadata },
  );

const running: RunningConsumer[] = [];
/** Each test creates its own bus (some need special redelivery settings). */
let bus: MemoryEventBus;
afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.close()));
  await bus.close();
});
type Options = RunConsumerOptions<typeof eventContracts>;

/** Starts a consumer on the test's bus and schema; closed after the test. */
async function start(overrides: Partial<Options> & Pick<Options, 'handle'>): Promise<RunningConsumer> {
  const consumer = await runConsumer({
    bus,
    sql: db.sql,
    schema: db.schema,
    groupId: `group-${uuid()}`,
    topics: ['identity.user'],
    retryDelayMs: 5,
    ...overrides,
  });
  running.push(consumer);
  return consumer;
}

/** The consumer's side effect, written through ctx.sql so it commits with the processed-mark. */
async function apply(envelope: AnyEnvelope, ctx: ConsumerContext, group: string): Promise<void> {
  await ctx.sql.query(`INSERT INTO "${db.schema}".applied (event_id, aggregate_id) VALUES ($1, $2)`, [
    envelope.id,
    `${group}:${envelope.aggregateId}`,
  ]);
}
const appliedCount = async (eventId: string): Promise<number> =>
  Number(
    (
      await db.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${db.schema}".applied WHERE event_id = $1`,
        [eventId],
      )
    )[0]!.n,
  );
const processedCount = async (eventId: string): Promise<number> =>
  Number(
    (
      await db.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${db.schema}".processed_events WHERE event_id = $1`,
        [eventId],
      )
    )[0]!.n,
  );

describe('runConsumer', () => {
  it('applies a redelivered event once per consumer group', async () => {
    bus = new MemoryEventBus();
    const envelope = registered();
    const handled: string[] = [];
    for (const group of ['a', 'b']) {
      const groupId = `${group}-${uuid()}`;
      await start({
        groupId,
        handle: async (e, ctx) => {
          handled.push(group);
          await apply(e, ctx, group);
        },
      });
    }
    // The same record three times, as after a relay crash and a consumer rebalance.
    await bus.publish([toBusRecord(envelope), toBusRecord(envelope), toBusRecord(envelope)]);
    await waitFor(async () => (await processedCount(envelope.id)) === 2, {
      message: 'both groups processed',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await appliedCount(envelope.id)).toBe(2);
    expect(handled.sort()).toEqual(['a', 'b']);
  });

  it('rolls back a failed attempt with its side effects, and applies the retry exactly once', async () => {
    bus = new MemoryEventBus();
    const envelope = registered();
    const attempts: number[] = [];
    await start({
      handle: async (e, ctx) => {
        attempts.push(ctx.attempt);
        await apply(e, ctx, 'g');
        if (ctx.attempt < 3) throw new Error('downstream hiccup');
      },
    });
    await bus.publish([toBusRecord(envelope)]);
    await waitFor(async () => (await processedCount(envelope.id)) === 1, { message: 'processed' });
    expect(attempts).toEqual([1, 2, 3]);
    expect(await appliedCount(envelope.id)).toBe(1);
    expect(bus.records(dlqTopic('identity.user'))).toEqual([]);
  });

  it('dead-letters an event whose handler keeps failing, untouched and explained, and moves on', async () => {
    bus = new MemoryEventBus();
    const logger = recordingLogger();
    const groupId = `g-${uuid()}`;
    const poison = registered();
    const next = registered();
    await start({
      groupId,
      logger,
      maxAttempts: 3,
      handle: async (e, ctx) => {
        await apply(e, ctx, 'g');
        if (e.id === poison.id) throw new Error(`user ${e.aggregateId} is unknown here`);
      },
    });
    await bus.publish([toBusRecord(poison), toBusRecord(next)]);
    await waitFor(async () => (await processedCount(next.id)) === 1, { message: 'next event processed' });
    // The two events have different keys, so they may sit on different partitions: `next` can be done while
    // the poison is still being retried. Wait for the dead letter itself.
    await waitFor(() => bus.records(dlqTopic('identity.user')).length > 0, {
      message: 'poison dead-lettered',
    });

    const [dead, ...more] = bus.records(dlqTopic('identity.user'));
    expect(more).toEqual([]);
    expect(dead!.value).toBe(toBusRecord(poison).value);
    expect(dead!.key).toBe(poison.aggregateId);
    expect(dead!.headers).toMatchObject({
      ...toBusRecord(poison).headers,
      [DlqHeader.ERROR]: `user ${poison.aggregateId} is unknown here`,
      [DlqHeader.ERROR_CODE]: MessagingErrorCode.HANDLER_FAILED,
      [DlqHeader.ORIGINAL_TOPIC]: 'identity.user',
      [DlqHeader.CONSUMER_GROUP]: groupId,
      [DlqHeader.ATTEMPTS]: '3',
    });
    expect(Date.parse(dead!.headers[DlqHeader.FAILED_AT]!)).not.toBeNaN();
    // Rolled back three times: no side effect, no processed-mark (so a replay from the DLQ is applied).
    expect(await appliedCount(poison.id)).toBe(0);
    expect(await processedCount(poison.id)).toBe(0);
    expect(
      logger.entries.some((entry) => entry.level === 'error' && entry.msg === 'event dead-lettered'),
    ).toBe(true);
  });

  it('dead-letters at once on a non-retryable error', async () => {
    bus = new MemoryEventBus();
    const envelope = registered();
    let calls = 0;
    await start({
      handle: async () => {
        calls += 1;
        throw Object.assign(new Error('can never apply'), { retryable: false });
      },
    });
    await bus.publish([toBusRecord(envelope)]);
    await waitFor(() => bus.records(dlqTopic('identity.user')).length === 1, { message: 'dead letter' });
    expect(calls).toBe(1);
    expect(bus.records(dlqTopic('identity.user'))[0]!.headers[DlqHeader.ATTEMPTS]).toBe('1');
  });

  it('dead-letters records that are not JSON, of an unknown contract, or invalid, and keeps consuming', async () => {
    bus = new MemoryEventBus();
    const valid = registered();
    const unknownVersion = toBusRecord(valid);
    unknownVersion.value = JSON.stringify({ ...valid, id: uuid(), version: 9 });
    const invalid = toBusRecord(valid);
    invalid.value = JSON.stringify({ ...valid, id: uuid(), payload: { ...valid.payload, email: 42 } });
    const applied: string[] = [];
    await start({
      handle: async (e, ctx) => {
        applied.push(e.id);
        await apply(e, ctx, 'g');
      },
    });
    await bus.publish([
      { topic: 'identity.user', key: 'k', value: '{not json', headers: {} },
      unknownVersion,
      invalid,
      toBusRecord(valid),
    ]);
    await waitFor(async () => (await processedCount(valid.id)) === 1, { message: 'valid event applied' });
    await waitFor(() => bus.records(dlqTopic('identity.user')).length === 3, {
      message: 'three dead letters',
    });
    const dead = bus.records(dlqTopic('identity.user'));
    expect(dead.map((record) => record.headers[DlqHeader.ERROR_CODE]).sort()).toEqual(
      ['EVENT_CONTRACT_UNKNOWN', 'EVENT_JSON_INVALID', 'EVENT_VALIDATION_FAILED'].sort(),
    );
    expect(dead.find((r) => r.headers[DlqHeader.ERROR_CODE] === 'EVENT_JSON_INVALID')!.value).toBe(
      '{not json',
    );
    expect(
      dead.find((r) => r.headers[DlqHeader.ERROR_CODE] === 'EVENT_VALIDATION_FAILED')!.headers[
        DlqHeader.ERROR
      ],
    ).toContain('payload.email');
    expect(
      dead.find((r) => r.headers[DlqHeader.ERROR_CODE] === 'EVENT_CONTRACT_UNKNOWN')!.headers[
        DlqHeader.ERROR
      ],
    ).toContain('UserRegistered.v9');
    expect(dead.every((r) => r.headers[DlqHeader.ATTEMPTS] === '0')).toBe(true);
    expect(applied).toEqual([valid.id]);
  });

  it('gives the handler the trace context and request id of the producing request', async () => {
    bus = new MemoryEventBus();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const envelope = registered(uuid(), {
      traceparent,
      tracestate: 'cap=1',
      requestId: 'req-7',
      actorId: 'admin-1',
    });
    const seen: Partial<ConsumerContext>[] = [];
    await start({
      handle: async (_e, ctx) => {
        seen.push({
          traceparent: ctx.traceparent,
          tracestate: ctx.tracestate,
          requestId: ctx.requestId,
          actorId: ctx.actorId,
        });
      },
    });
    await bus.publish([toBusRecord(envelope)]);
    await waitFor(() => seen.length === 1, { message: 'handled' });
    expect(seen[0]).toEqual({ traceparent, tracestate: 'cap=1', requestId: 'req-7', actorId: 'admin-1' });
  });

  it('narrows the envelope to the contracts it is given', async () => {
    bus = new MemoryEventBus();
    const userId = uuid();
    const seen: string[] = [];
    await runConsumer({
      bus,
      sql: db.sql,
      schema: db.schema,
      groupId: `typed-${uuid()}`,
      topics: ['identity.user'],
      handle: async (envelope) => {
        switch (envelope.type) {
          case 'UserDeactivated':
            seen.push(envelope.payload.userId);
            break;
          case 'UserRegistered':
            seen.push(envelope.payload.email);
            break;
          default:
        }
      },
    }).then((consumer) => running.push(consumer));
    await bus.publish([
      toBusRecord(UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId })),
    ]);
    await waitFor(() => seen.length === 1, { message: 'handled' });
    expect(seen).toEqual([userId]);
  });

  it('with `handles`, dead-letters each malformed record once across the groups sharing a topic', async () => {
    bus = new MemoryEventBus();
    const [groupA, groupB] = [`a-${uuid()}`, `b-${uuid()}`];
    const key = uuid();
    const seen: string[] = [];
    // A handles UserRegistered and owns the topic's unreadable records; B handles UserDeactivated only.
    await start({
      groupId: groupA,
      handles: [UserRegistered.type],
      handle: async (e) => void seen.push(`a:${e.type}`),
    });
    await start({
      groupId: groupB,
      handles: [UserDeactivated.type],
      deadLetterUnreadable: false,
      handle: async (e) => void seen.push(`b:${e.type}`),
    });
    const userId = uuid();
    const goodRegistered = registered(userId);
    const goodDeactivated = UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId });
    const badRegistered = { ...registered(), payload: { userId: 'x', email: 'no', role: 'VIEWER' } };
    const badDeactivated = { ...goodDeactivated, id: uuid(), payload: { userId: 42 } };
    const unknown = { ...goodDeactivated, id: uuid(), type: 'UserTeleported' };
    const onKey = (value: string) => ({ topic: 'identity.user', key, value, headers: {} });
    const poison = [
      onKey('{"not json'),
      onKey(JSON.stringify(badRegistered)),
      onKey(JSON.stringify(badDeactivated)),
      onKey(JSON.stringify(unknown)),
    ];
    await bus.publish([
      ...poison,
      onKey(JSON.stringify(goodRegistered)),
      onKey(JSON.stringify(goodDeactivated)),
    ]);
    await waitFor(() => seen.length === 2 || undefined, { message: 'the good records handled' });
    expect(seen.sort()).toEqual(['a:UserRegistered', 'b:UserDeactivated']);
    const dead = bus.records(dlqTopic('identity.user'));
    expect(dead.map((record) => [record.value, record.headers[DlqHeader.CONSUMER_GROUP]])).toEqual(
      expect.arrayContaining([
        [poison[0]!.value, groupA],
        [poison[1]!.value, groupA],
        [poison[2]!.value, groupB],
        [poison[3]!.value, groupA],
      ]),
    );
    expect(dead).toHaveLength(poison.length);
    // A record of a type a group does not handle leaves no processed-mark of that group.
    expect(await processedCount(goodRegistered.id)).toBe(1);
    expect(await processedCount(goodDeactivated.id)).toBe(1);
  });

  it('never dead-letters because of its own database: the event waits until the table is there', async () => {
    bus = new MemoryEventBus({ redeliveryDelayMs: 10, maxRedeliveryDelayMs: 50 });
    const schema = `late_${uuid().slice(0, 8)}`;
    await db.sql.query(`CREATE SCHEMA "${schema}"`);
    try {
      const envelope = registered();
      const applied: string[] = [];
      await start({ schema, handle: async (e) => void applied.push(e.id) });
      await bus.publish([toBusRecord(envelope)]);
      await new Promise((resolve) => setTimeout(resolve, 150)); // several failed deliveries: no processed_events yet
      expect(applied).toEqual([]);
      await db.sql.query(outboxDdl(schema)); // the migration finally ran
      await waitFor(() => applied.length === 1, { message: 'applied once the table exists' });
      expect(bus.records(dlqTopic('identity.user'))).toEqual([]);
    } finally {
      await Promise.all(running.splice(0).map((consumer) => consumer.close()));
      await db.sql.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });
});
