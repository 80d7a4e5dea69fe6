import { backoffDelay, sleep } from './backoff.js';
import type { EventBus } from './EventBus.js';
import type { Logger } from './logger.js';
import type { RunningConsumer } from './runConsumer.js';

/** A consumer that keeps trying to start while the broker is unreachable. */
export interface ResilientConsumer {
  /** Resolves once the consumer has joined its group (never rejects; retries until closed). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Longest wait between two attempts to start a consumer, ms. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Starts a consumer (`start` calls `runConsumer`, after `ensureTopics` created the topics) without making the service's start
 * wait for Kafka: while the broker is down the graph and the outbox keep working (events wait in the outbox)
 * and `start` is retried with exponential backoff (1 s, 2 s, ... 30 s) until it succeeds or `close` is called.
 */
export function keepConsumer(options: {
  /** For the log line of a failed attempt, e.g. `classification`. */
  name: string;
  logger: Logger;
  /** Topics created before each attempt (production brokers do not create topics on demand). */
  ensureTopics?: { bus: Pick<EventBus, 'ensureTopics'>; topics: string[] };
  start: () => Promise<RunningConsumer>;
}): ResilientConsumer {
  let consumer: RunningConsumer | null = null;
  const closing = new AbortController();
  const ready = (async () => {
    for (let attempt = 1; !closing.signal.aborted; attempt += 1) {
      try {
        if (options.ensureTopics) await options.ensureTopics.bus.ensureTopics(options.ensureTopics.topics);
        const started = await options.start();
        if (closing.signal.aborted) await started.close();
        else consumer = started;
        return;
      } catch (error) {
        const delayMs = backoffDelay(attempt, {
          baseDelayMs: 1_000,
          factor: 2,
          maxDelayMs: MAX_RETRY_DELAY_MS,
        });
        options.logger.warn(
          { err: error, attempt, delayMs },
          `${options.name} consumer could not start; retrying`,
        );
        await sleep(delayMs, closing.signal);
      }
    }
  })();
  return {
    ready,
    close: async () => {
      closing.abort();
      await ready;
      await consumer?.close();
    },
  };
}
