import { spawn, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createContractRegistry, defineEvent, z, type AnyEnvelope } from '@cap/events';
import { consumeUntil, deleteKafkaTopics, kafkaBrokersFromEnv, uniqueTopic } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DlqHeader,
  dlqTopic,
  enqueue,
  EventHeader,
  KafkaEventBus,
  MessagingErrorCode,
  OutboxRelay,
  runConsumer,
  toBusRecord,
  type BusRecord,
  type ConsumerContext,
  type KafkaEventBusOptions,
} from '../src/index.js';
import { createTestSchema, DATABASE_URL, recordingLogger, waitFor, type TestSchema } from './support.js';

/**
 * Real Kafka (scripts/kafka.sh). The shared broker from KAFKA_BROKERS for most tests; a private broker on
 * KAFKA_OUTAGE_PORT (default 19092) for the outage test, which stops and starts it.
 */
const brokers = kafkaBrokersFromEnv();
const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

const disposers: (() => Promise<unknown>)[] = [];
const topics: string[] = [];
let db: TestSchema;

beforeAll(async () => {
  db = await createTestSchema('kafka');
});
afterAll(async () => {
  const failures: unknown[] = [];
  for (const dispose of disposers.splice(0).reverse())
    await dispose().catch((error: unknown) => failures.push(error));
  await deleteKafkaTopics(topics, brokers).catch(() => undefined); // best effort: topic names are unique anyway
  await db.dispose();
  // Every disposer ran; now surface the first failure instead of hiding a leak.
  if (failures.length > 0) throw failures[0];
});

/** A contract on a fresh topic, so runs never see each other's events. */
function probeContract(prefix: string) {
  const topic = uniqueTopic(prefix);
  topics.push(topic, dlqTopic(topic));
  const Probe = defineEvent({
    type: 'ProbeRecorded',
    version: 1,
    topic,
    payload: z.object({ n: z.number().int() }),
  });
  return { topic, Probe, contracts: createContractRegistry([Probe]) };
}

function kafkaBus(options: Partial<KafkaEventBusOptions> = {}): KafkaEventBus {
  const bus = new KafkaEventBus({ brokers, clientId: 'messaging-e2e', ...options });
  disposers.push(() => bus.close());
  return bus;
}

/** event id → times the consumer's side effect happened (for the events of one aggregate prefix). */
async function applications(prefix: string): Promise<Map<string, number>> {
  const rows = await db.sql.query<{ event_id: string; n: string }>(
    `SELECT event_id, count(*) AS n FROM "${db.schema}".applied WHERE aggregate_id LIKE $1 GROUP BY event_id`,
    [`${prefix}%`],
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.n)]));
}

async function startConsumer(
  bus: KafkaEventBus,
  contracts: ReturnType<typeof probeContract>['contracts'],
  topic: string,
  groupId: string,
  seen?: ConsumerContext[],
) {
  const consumer = await runConsumer({
    bus,
    sql: db.sql,
    schema: db.schema,
    groupId,
    topics: [topic],
    contracts,
    retryDelayMs: 20,
    handle: async (envelope, ctx) => {
      seen?.push(ctx);
      await ctx.sql.query(
        `INSERT INTO "${db.schema}".applied (event_id, aggregate_id, seq) VALUES ($1, $2, $3)`,
        [envelope.id, envelope.aggregateId, envelope.payload.n],
      );
    },
  });
  disposers.push(() => consumer.close());
  return consumer;
}

describe('KafkaEventBus', () => {
  it('publishes and consumes: every group gets every record once, in order per key, with headers', async () => {
    const topic = uniqueTopic('e2e-bus');
    topics.push(topic);
    const bus = kafkaBus();
    await bus.ensureTopics([topic]);
    const received: Record<string, BusRecord[]> = { a: [], b: [] };
    for (const group of ['a', 'b'] as const) {
      await bus.subscribe({
        groupId: `${topic}-${group}`,
        topics: [topic],
        fromBeginning: true,
        handler: async (record) => void received[group]!.push(record),
      });
    }
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const records: BusRecord[] = Array.from({ length: 30 }, (_, i) => ({
      topic,
      key: `key-${i % 3}`,
      value: JSON.stringify({ i }),
      headers: {
        [EventHeader.EVENT_ID]: `e${i}`,
        [EventHeader.TRACEPARENT]: traceparent,
        [EventHeader.REQUEST_ID]: `r${i}`,
      },
    }));
    await bus.publish(records.slice(0, 15));
    await bus.publish(records.slice(15));

    await waitFor(() => received['a']!.length >= 30 && received['b']!.length >= 30, {
      timeoutMs: 30_000,
      message: '30 records per group',
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // nothing more (no duplicates) should arrive
    for (const group of ['a', 'b']) {
      const got = received[group]!;
      expect(got).toHaveLength(30);
      for (let key = 0; key < 3; key += 1) {
        const order = got
          .filter((r) => r.key === `key-${key}`)
          .map((r) => (JSON.parse(r.value) as { i: number }).i);
        expect(order).toEqual(Array.from({ length: 10 }, (_, j) => j * 3 + key));
      }
      const first = got.find((r) => r.headers[EventHeader.EVENT_ID] === 'e0')!;
      expect(first.headers).toEqual({
        [EventHeader.EVENT_ID]: 'e0',
        [EventHeader.TRACEPARENT]: traceparent,
        [EventHeader.REQUEST_ID]: 'r0',
      });
    }
  });

  it('applies an event once although the relay was SIGKILLed after publishing and before marking', async () => {
    const { topic, Probe, contracts } = probeContract('e2e-crash');
    const prefix = `crash-${Date.now()}-`;
    const envelopes = Array.from({ length: 4 }, (_, n) =>
      Probe.create({ n }, { source: 'e2e', aggregateId: `${prefix}${n % 2}` }),
    );
    const bus = kafkaBus();
    await bus.ensureTopics([topic]);
    await enqueue(db.sql, db.schema, envelopes);

    // 1. A relay in another process publishes, reports, and is killed before it can mark the rows.
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/crashingRelay.ts', import.meta.url)),
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          TEST_DATABASE_URL: DATABASE_URL,
          RELAY_SCHEMA: db.schema,
          KAFKA_BROKERS: brokers.join(','),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    disposers.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    const reported = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`relay child did not publish within 60 s; stdout: ${out}`)),
        60_000,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = /PUBLISHED (\[.*\])\n/.exec(out)?.[1];
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as string[]);
        }
      });
      child.once('exit', () => reject(new Error(`relay child exited before publishing; stdout: ${out}`)));
    });
    expect(reported.sort()).toEqual(envelopes.map((e) => e.id).sort());
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The broker has them, the outbox still says unpublished (the killed transaction rolled back).
    await consumeUntil({ brokers, topics: [topic], until: (seen) => seen.length >= 4, timeoutMs: 30_000 });
    const pending = await db.sql.query(
      `SELECT id FROM "${db.schema}".outbox_events WHERE published_at IS NULL AND topic = $1`,
      [topic],
    );
    expect(pending).toHaveLength(4);

    // 2. A healthy relay publishes them again; 3. the consumer applies each once.
    const relay = new OutboxRelay({ sql: db.sql, schema: db.schema, bus });
    await waitFor(async () => (await relay.drainOnce()).published === 4, {
      timeoutMs: 30_000,
      message: 'republished',
    });
    const onTopic = await consumeUntil({
      brokers,
      topics: [topic],
      until: (seen) => seen.length >= 8,
      timeoutMs: 30_000,
    });
    for (const envelope of envelopes) {
      expect(onTopic.filter((r) => r.headers[EventHeader.EVENT_ID] === envelope.id)).toHaveLength(2);
    }
    await startConsumer(bus, contracts, topic, `${topic}-consumer`);
    await waitFor(async () => (await applications(prefix)).size === 4, {
      timeoutMs: 30_000,
      message: 'all four applied',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the duplicates are consumed too
    expect([...(await applications(prefix)).values()]).toEqual([1, 1, 1, 1]);
  });

  it('dead-letters a poison record with the reason, untouched, and keeps consuming', async () => {
    const { topic, Probe, contracts } = probeContract('e2e-poison');
    const prefix = `poison-${Date.now()}-`;
    const bus = kafkaBus();
    const seen: ConsumerContext[] = [];
    const groupId = `${topic}-consumer`;
    await startConsumer(bus, contracts, topic, groupId, seen);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const before = Probe.create(
      { n: 1 },
      { source: 'e2e', aggregateId: `${prefix}a`, metadata: { traceparent, requestId: 'req-e2e' } },
    );
    const after = Probe.create({ n: 2 }, { source: 'e2e', aggregateId: `${prefix}a` });
    const poison: BusRecord = {
      topic,
      key: `${prefix}a`,
      value: '{"type":"ProbeRecorded", oops',
      headers: { [EventHeader.EVENT_ID]: 'poison-1' },
    };
    await bus.publish([toBusRecord(before), poison, toBusRecord(after)]);

    const [dead] = await consumeUntil({
      brokers,
      topics: [dlqTopic(topic)],
      until: (records) => records.length >= 1,
      timeoutMs: 30_000,
    });
    expect(dead!.value).toBe(poison.value);
    expect(dead!.key).toBe(poison.key);
    expect(dead!.headers).toMatchObject({
      [EventHeader.EVENT_ID]: 'poison-1',
      [DlqHeader.ERROR_CODE]: MessagingErrorCode.JSON_INVALID,
      [DlqHeader.ORIGINAL_TOPIC]: topic,
      [DlqHeader.CONSUMER_GROUP]: groupId,
    });
    expect(dead!.headers[DlqHeader.ERROR]).toMatch(/^value is not JSON/);

    await waitFor(async () => (await applications(prefix)).size === 2, {
      timeoutMs: 30_000,
      message: 'both valid events applied',
    });
    const order = await db.sql.query<{ seq: number }>(
      `SELECT seq FROM "${db.schema}".applied WHERE aggregate_id = $1 ORDER BY applied_at`,
      [`${prefix}a`],
    );
    expect(order.map((row) => row.seq)).toEqual([1, 2]);
    // Trace context crossed Kafka into the handler.
    expect(seen[0]).toMatchObject({ traceparent, requestId: 'req-e2e' });
  });
});

describe('outbox through a Kafka outage', () => {
  const port = Number(process.env['KAFKA_OUTAGE_PORT'] ?? 19_092);
  const outageBrokers = [`127.0.0.1:${port}`];
  const kafka = async (command: 'start' | 'stop' | 'reset'): Promise<void> => {
    await run('bash', ['scripts/kafka.sh', command], {
      cwd: root,
      env: { ...process.env, KAFKA_PORT: String(port) },
      timeout: 150_000,
    });
  };

  beforeAll(async () => {
    await kafka('reset'); // a clean private broker: no state left by an earlier run
    await kafka('start');
    disposers.push(() => kafka('stop'));
  });

  it('keeps events while Kafka is down, backs off, and delivers each exactly once when it is back', async () => {
    const { topic, Probe, contracts } = probeContract('e2e-outage');
    const prefix = `outage-${Date.now()}-`;
    const logger = recordingLogger();
    // Fail fast while the broker is down, so the test sees several relay cycles in a few seconds.
    const options: Partial<KafkaEventBusOptions> = {
      brokers: outageBrokers,
      connectionTimeoutMs: 1_000,
      publishTimeoutMs: 2_000,
      retries: 2,
      producerRetries: 1,
      // After a broker restart the group waits for the pre-outage member's session to expire before the
      // restarted consumer is admitted: keep that short here (the broker's minimum is 6 s).
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
    };
    const producerBus = kafkaBus({ ...options, clientId: 'outage-producer', logger });
    const consumerBus = kafkaBus({ ...options, clientId: 'outage-consumer' });
    await producerBus.ensureTopics([topic]);
    const relay = new OutboxRelay({
      sql: db.sql,
      schema: db.schema,
      bus: producerBus,
      pollIntervalMs: 100,
      retry: { attempts: 1, baseDelayMs: 100, factor: 2, maxDelayMs: 1_000 },
      logger,
    });
    relay.start();
    disposers.push(() => relay.stop());
    await startConsumer(consumerBus, contracts, topic, `${topic}-consumer`);

    const write = async (from: number, count: number): Promise<AnyEnvelope[]> => {
      const written = Array.from({ length: count }, (_, i) =>
        Probe.create({ n: from + i }, { source: 'e2e', aggregateId: `${prefix}${(from + i) % 3}` }),
      );
      for (const envelope of written) {
        await db.sql.transaction((tx) => enqueue(tx, db.schema, [envelope]));
        relay.notify();
      }
      return written;
    };

    const early = await write(0, 5);
    await waitFor(async () => (await applications(prefix)).size === 5, {
      timeoutMs: 30_000,
      message: 'delivered before the outage',
    });

    await kafka('stop');
    const during = await write(5, 10);
    // The outbox grows; the relay keeps failing, each time pushing the rows' next attempt further out.
    await waitFor(
      async () =>
        (
          await db.sql.query(
            `SELECT 1 FROM "${db.schema}".outbox_events
             WHERE topic = $1 AND published_at IS NULL AND attempts >= 2 AND last_error IS NOT NULL AND next_attempt_at > created_at`,
            [topic],
          )
        ).length === 10,
      { timeoutMs: 60_000, message: 'ten pending rows, each failed at least twice' },
    );
    expect(
      logger.entries.some(
        (entry) => entry.msg === 'publishing outbox events failed; they stay pending and will be retried',
      ),
    ).toBe(true);

    await kafka('start');
    await waitFor(async () => (await applications(prefix)).size === 15, {
      timeoutMs: 90_000,
      intervalMs: 200,
      message: 'all 15 applied after recovery',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const counts = await applications(prefix);
    expect([...early, ...during].map((envelope) => counts.get(envelope.id))).toEqual(
      Array.from({ length: 15 }, () => 1),
    );
    const pending = await db.sql.query(
      `SELECT 1 FROM "${db.schema}".outbox_events WHERE topic = $1 AND published_at IS NULL`,
      [topic],
    );
    expect(pending).toEqual([]);
  });
});
