import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { backoffDelay, sleep } from './backoff.js';
import { MessagingError, MessagingErrorCode } from './errors.js';
import type { BusRecord, BusSubscription, SubscribeOptions } from './EventBus.js';
import { describeError, type Logger } from './logger.js';

/** The consumer settings of a {@link KafkaSubscription} (documented on `KafkaEventBusOptions`). */
export interface KafkaSubscriptionSettings {
  joinTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  partitionsConsumedConcurrently: number;
  redeliveryDelayMs: number;
  maxRedeliveryDelayMs: number;
}

/** One consumer-group membership, re-created if kafkajs gives up on it. */
export class KafkaSubscription implements BusSubscription {
  readonly #kafka: Kafka;
  readonly #options: SubscribeOptions;
  readonly #settings: KafkaSubscriptionSettings;
  readonly #logger: Logger;
  readonly #onClosed: () => void;
  readonly #closing = new AbortController();
  #consumer: Consumer | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;
  #restarts = 0;
  #closed: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    options: SubscribeOptions,
    settings: KafkaSubscriptionSettings,
    logger: Logger,
    onClosed: () => void,
  ) {
    this.#kafka = kafka;
    this.#options = options;
    this.#settings = settings;
    this.#logger = logger;
    this.#onClosed = onClosed;
  }

  /** Connects, subscribes and waits until the member has joined its group. */
  async start(): Promise<void> {
    const consumer = this.#kafka.consumer({
      groupId: this.#options.groupId,
      sessionTimeout: this.#settings.sessionTimeoutMs,
      heartbeatInterval: this.#settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.#settings.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    let joinedTimer: NodeJS.Timeout | undefined;
    const joined = new Promise<void>((resolve, reject) => {
      const removeListener = consumer.on(consumer.events.GROUP_JOIN, () => {
        removeListener();
        resolve();
      });
      joinedTimer = setTimeout(() => {
        removeListener();
        reject(
          new MessagingError(
            MessagingErrorCode.SUBSCRIBE_TIMEOUT,
            `Consumer group ${this.#options.groupId} was not joined within ${this.#settings.joinTimeoutMs} ms.`,
          ),
        );
      }, this.#settings.joinTimeoutMs);
    });
    joined.catch(() => undefined);
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.#logger.error(
        { err: describeError(error), groupId: this.#options.groupId, restart },
        'kafka consumer crashed',
      );
      // kafkajs restarts by itself after retriable errors only; after any other it would stay dead.
      if (!restart && consumer === this.#consumer) this.#scheduleRestart();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: this.#options.topics,
        fromBeginning: this.#options.fromBeginning ?? false,
      });
      await consumer.run({
        partitionsConsumedConcurrently: this.#settings.partitionsConsumedConcurrently,
        eachMessage: async ({ topic, message, heartbeat }) => this.#deliver(topic, message, heartbeat),
      });
      await joined;
      this.#restarts = 0;
    } finally {
      clearTimeout(joinedTimer);
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      clearTimeout(this.#restartTimer);
      await this.#restarting;
      // disconnect() waits for the eachMessage call in flight, then commits and leaves the group.
      await this.#consumer?.disconnect().catch((error: unknown) => {
        this.#logger.warn(
          { err: describeError(error), groupId: this.#options.groupId },
          'kafka consumer disconnect failed',
        );
      });
      this.#onClosed();
    })();
    return this.#closed;
  }

  async #deliver(topic: string, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> {
    const record: BusRecord = {
      topic,
      key: message.key?.toString('utf8') ?? '',
      value: message.value?.toString('utf8') ?? '',
      headers: decodeHeaders(message.headers),
    };
    for (let failures = 1; ; failures += 1) {
      try {
        await this.#options.handler(record);
        return;
      } catch (error) {
        // Throwing leaves the offset uncommitted, so the record is redelivered to whoever owns the partition next.
        if (this.#closing.signal.aborted) throw error;
        const delayMs = backoffDelay(failures, {
          baseDelayMs: this.#settings.redeliveryDelayMs,
          factor: 2,
          maxDelayMs: this.#settings.maxRedeliveryDelayMs,
        });
        this.#logger.warn(
          {
            err: describeError(error),
            topic,
            offset: message.offset,
            groupId: this.#options.groupId,
            delayMs,
          },
          'event handler failed; redelivering the record',
        );
        await sleep(delayMs, this.#closing.signal);
        if (this.#closing.signal.aborted) throw error;
        // Stay in the group while retrying; throws on a rebalance, handing the record to the new owner.
        await heartbeat();
      }
    }
  }

  #scheduleRestart(): void {
    if (this.#closing.signal.aborted) return;
    this.#restarts += 1;
    const delayMs = backoffDelay(this.#restarts, { baseDelayMs: 1_000, factor: 2, maxDelayMs: 30_000 });
    this.#restartTimer = setTimeout(() => {
      // close() awaits this, so a restart never leaves a consumer connected behind a closed subscription.
      this.#restarting = (async () => {
        if (this.#closing.signal.aborted) return;
        await this.#consumer?.disconnect().catch(() => undefined);
        try {
          await this.start();
          this.#logger.info({ groupId: this.#options.groupId }, 'kafka consumer restarted');
        } catch (error) {
          this.#logger.error(
            { err: describeError(error), groupId: this.#options.groupId },
            'kafka consumer restart failed',
          );
          this.#scheduleRestart();
        }
      })().finally(() => {
        this.#restarting = undefined;
      });
    }, delayMs);
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    // Kafka allows repeated headers; ours are unique, so the last value wins.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}
