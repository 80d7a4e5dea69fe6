import type { RunningConsumer } from './runConsumer.js';
import { describeError, type Logger } from './logger.js';

/** A consumer that keeps trying to start while the broker is unreachable. */
export interface ResilientConsumer {
  /** Resolves once the consumer has joined its group (never rejects; retries until closed). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Longest wait between two attempts to start a consumer, ms. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Starts a consumer (`start` typically creates the topics, then calls `runConsumer`) without making the
 * service's start wait for Kafka: while the broker is down the service keeps working and `start` is retried
 * with exponential backoff (1 s, 2 s, ... 30 s) until it succeeds or the consumer is closed.
 */
export function keepConsumer(options: {
  name: string;
  start: () => Promise<RunningConsumer>;
  logger: Logger;
}): ResilientConsumer {
  let consumer: RunningConsumer | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        const started = await options.start();
        if (closed) await started.close();
        else consumer = started;
        return;
      } catch (error) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (attempt - 1));
        options.logger.warn(
          { err: describeError(error), attempt, delayMs },
          `${options.name} could not start; retrying`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  })();
  return {
    ready,
    close: async () => {
      closed = true;
      wake?.();
      await ready;
      await consumer?.close();
    },
  };
}
