import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';

/** Brokers for tests: `KAFKA_BROKERS` (comma-separated `host:port`), default the dev broker `127.0.0.1:9092`. */
export function kafkaBrokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env['KAFKA_BROKERS']?.trim() || '127.0.0.1:9092';
  return raw
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}

/**
 * A topic name no other test (or earlier run) uses: `<prefix>.t<time>-<random>`, so tests need no cleanup
 * between runs and can run in parallel against one broker.
 */
export function uniqueTopic(prefix: string): string {
  // The "t" keeps each dot-separated part starting with a letter, as event topic names must.
  return `${prefix}.t${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A record as seen by {@link consumeUntil}, with headers decoded to strings. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface ConsumeUntilOptions {
  brokers?: string[];
  topics: string[];
  /** Resolves once this returns true for everything read so far (called after each record). */
  until: (records: readonly ConsumedRecord[]) => boolean;
  /** Fails with what was read so far if `until` is not satisfied in time (default 30_000 ms). */
  timeoutMs?: number;
  /** Extra wait after `until` is satisfied, to catch duplicates a test wants to rule out (default 0). */
  settleMs?: number;
}

/**
 * Reads topics from the beginning with a throwaway consumer group until `until` holds, then disconnects.
 * Independent of the code under test (plain kafkajs), so it sees exactly what is on the broker.
 */
export async function consumeUntil(options: ConsumeUntilOptions): Promise<ConsumedRecord[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const kafka = new Kafka({
    clientId: 'testkit-consume-until',
    brokers: options.brokers ?? kafkaBrokersFromEnv(),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: `testkit-${randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 500,
  });
  const records: ConsumedRecord[] = [];
  let satisfied: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    satisfied = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await subscribeWhenReady(consumer, options.topics, Math.min(timeoutMs, 15_000));
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? '',
          value: message.value?.toString('utf8') ?? '',
          headers: decodeHeaders(message.headers),
        });
        if (options.until(records)) satisfied();
      },
    });
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `consumeUntil timed out after ${timeoutMs} ms on ${options.topics.join(', ')}; read ${records.length} record(s): ${JSON.stringify(records.map((r) => ({ topic: r.topic, key: r.key, headers: r.headers })).slice(0, 20))}`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
    if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
    return [...records];
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** Broker answers meaning "the topic is being created, or its leader elected": worth asking again. */
const NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

/**
 * Subscribes from the beginning, retrying while the broker is still creating a topic the code under test has just
 * produced to for the first time (auto-created topics briefly report "This server does not host this
 * topic-partition").
 */
async function subscribeWhenReady(consumer: Consumer, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      return;
    } catch (error) {
      // A protocol error, or one kafkajs wrapped after its own retries.
      const failure = error as {
        type?: unknown;
        cause?: { type?: unknown };
        originalError?: { type?: unknown };
      };
      const type = failure.type ?? failure.cause?.type ?? failure.originalError?.type;
      if (typeof type !== 'string' || !NOT_READY.has(type) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Deletes topics a test created (best effort: a missing topic is not an error). */
export async function deleteKafkaTopics(
  topics: string[],
  brokers: string[] = kafkaBrokersFromEnv(),
): Promise<void> {
  if (topics.length === 0) return;
  const admin = new Kafka({ clientId: 'testkit-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}
