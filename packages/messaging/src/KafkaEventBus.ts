import { Kafka, logLevel, Partitioners, type logCreator, type Producer } from 'kafkajs';
import { MessagingError, MessagingErrorCode } from './errors.js';
import {
  assertValidRecords,
  type BusRecord,
  type BusSubscription,
  type EventBus,
  type SubscribeOptions,
} from './EventBus.js';
import { KafkaSubscription } from './KafkaSubscription.js';
import { describeError, silentLogger, type Logger } from './logger.js';

export interface KafkaEventBusOptions {
  /** `host:port` list, e.g. from `KAFKA_BROKERS`. */
  brokers: string[];
  /** Names this process in broker logs and quotas, e.g. `identity`. */
  clientId: string;
  logger?: Logger;
  /** TCP connect timeout per broker (default 3_000 ms). */
  connectionTimeoutMs?: number;
  /** Broker request timeout (default 30_000 ms). */
  requestTimeoutMs?: number;
  /** A publish not acknowledged by then fails with `EVENT_PUBLISH_TIMEOUT` (default 15_000 ms). */
  publishTimeoutMs?: number;
  /**
   * Retries of kafkajs' own connects and requests before an operation fails (default 5, with exponential
   * backoff from 300 ms). Consumers then restart themselves; publishes fail and the outbox retries them.
   */
  retries?: number;
  /** Retries of one publish inside kafkajs before it fails (default 2); the outbox relay retries on top. */
  producerRetries?: number;
  /** How long `subscribe` waits for the member to join its group (default 30_000 ms). */
  joinTimeoutMs?: number;
  /** A member silent for this long is evicted from its group (default 30_000 ms). */
  sessionTimeoutMs?: number;
  /** Default 3_000 ms; must be well below `sessionTimeoutMs`. */
  heartbeatIntervalMs?: number;
  /**
   * Longest a fetch waits for new records (default 1_000 ms). Lower than kafkajs' 5 s so that closing a
   * consumer and rebalancing are quick; delivery latency does not depend on it.
   */
  fetchMaxWaitMs?: number;
  /** Partitions handled in parallel per member (default 1). Order per partition is kept either way. */
  partitionsConsumedConcurrently?: number;
  /** Partitions of topics created by `ensureTopics` (default 3). */
  numPartitions?: number;
  /** Replicas of topics created by `ensureTopics` (default 1: the dev broker; use 3 in production). */
  replicationFactor?: number;
  /** First redelivery delay after a handler rejection (default 200 ms), doubling up to `maxRedeliveryDelayMs`. */
  redeliveryDelayMs?: number;
  /** Default 5_000 ms. */
  maxRedeliveryDelayMs?: number;
}

type Settings = Required<Omit<KafkaEventBusOptions, 'brokers' | 'clientId' | 'logger'>>;

/**
 * {@link EventBus} over Apache Kafka with kafkajs.
 *
 * Producer: idempotent, `acks=all`, one request in flight, keyed with the default (murmur2) partitioner,
 * so records of one key land in one partition in publish order. A failed publish discards the producer and
 * the next publish starts a fresh one: after a broker outage an idempotent producer can otherwise be stuck
 * on stale sequence numbers.
 *
 * Consumers: one kafkajs consumer per subscription. Offsets are committed only for records whose handler
 * resolved; a rejected handler is retried in place (heartbeating) until it succeeds, the subscription
 * closes, or a rebalance moves the partition (then the new owner gets it): records are never skipped.
 */
export class KafkaEventBus implements EventBus {
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #settings: Settings;
  readonly #subscriptions = new Set<KafkaSubscription>();
  #producer: Promise<Producer> | undefined;
  #closed = false;

  constructor(options: KafkaEventBusOptions) {
    this.#logger = options.logger ?? silentLogger;
    this.#settings = {
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      publishTimeoutMs: options.publishTimeoutMs ?? 15_000,
      retries: options.retries ?? 5,
      producerRetries: options.producerRetries ?? 2,
      joinTimeoutMs: options.joinTimeoutMs ?? 30_000,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      fetchMaxWaitMs: options.fetchMaxWaitMs ?? 1_000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      numPartitions: options.numPartitions ?? 3,
      replicationFactor: options.replicationFactor ?? 1,
      redeliveryDelayMs: options.redeliveryDelayMs ?? 200,
      maxRedeliveryDelayMs: options.maxRedeliveryDelayMs ?? 5_000,
    };
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: this.#settings.connectionTimeoutMs,
      requestTimeout: this.#settings.requestTimeoutMs,
      retry: { retries: this.#settings.retries },
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(this.#logger),
    });
  }

  async publish(records: BusRecord[]): Promise<void> {
    this.#assertOpen();
    assertValidRecords(records);
    if (records.length === 0) return;
    // Grouped by topic in first-seen order; within a topic the given order is kept, hence per key too.
    const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
    for (const record of records) {
      const messages = byTopic.get(record.topic) ?? [];
      messages.push({ key: record.key, value: record.value, headers: { ...record.headers } });
      byTopic.set(record.topic, messages);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));

    const pending = this.#connectedProducer();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MessagingError(
              MessagingErrorCode.PUBLISH_TIMEOUT,
              `Kafka did not acknowledge ${records.length} record(s) within ${this.#settings.publishTimeoutMs} ms.`,
            ),
          ),
        this.#settings.publishTimeoutMs,
      );
    });
    try {
      await Promise.race([
        pending.then((producer) =>
          producer.sendBatch({ topicMessages, acks: -1, timeout: this.#settings.requestTimeoutMs }),
        ),
        timeout,
      ]);
    } catch (error) {
      this.#discardProducer(pending);
      if (error instanceof MessagingError) throw error;
      throw new MessagingError(
        MessagingErrorCode.PUBLISH_FAILED,
        `Publishing to Kafka failed: ${describeError(error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    this.#assertOpen();
    const subscription = new KafkaSubscription(this.#kafka, options, this.#settings, this.#logger, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  async ensureTopics(topics: string[]): Promise<void> {
    this.#assertOpen();
    const wanted = [...new Set(topics)];
    if (wanted.length === 0) return;
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      // A concurrent creator is fine: kafkajs treats TOPIC_ALREADY_EXISTS as success.
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: this.#settings.numPartitions,
          replicationFactor: this.#settings.replicationFactor,
        })),
      });
      this.#logger.info({ topics: missing }, 'kafka topics created');
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#subscriptions].map((subscription) => subscription.close()));
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer) await producer.then((connected) => connected.disconnect()).catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new MessagingError(MessagingErrorCode.BUS_CLOSED, 'The event bus is closed.');
  }

  #connectedProducer(): Promise<Producer> {
    if (!this.#producer) {
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: this.#settings.producerRetries },
      });
      const connecting = producer.connect().then(() => producer);
      this.#producer = connecting;
      connecting.catch(() => this.#discardProducer(connecting));
    }
    return this.#producer;
  }

  #discardProducer(producer: Promise<Producer>): void {
    if (this.#producer !== producer) return;
    this.#producer = undefined;
    void producer.then((connected) => connected.disconnect()).catch(() => undefined);
  }
}

/** Routes kafkajs' own logs into ours: errors and warnings as such, its chatty info as debug. */
function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...details } = log;
      const entry = { kafka: { namespace, ...details } };
      // Our producer limits retries on purpose (the outbox retries, and a failed producer is replaced).
      if (message.startsWith('Limiting retries for the idempotent producer'))
        return logger.debug(entry, message);
      if (level === logLevel.ERROR) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else logger.debug(entry, message);
    };
}
