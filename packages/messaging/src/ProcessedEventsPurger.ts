import { describeError, silentLogger, type Logger } from './logger.js';
import { purgeProcessed } from './outbox.js';
import type { SqlExecutor } from './sql.js';

/** Default retention of processed-marks: 7 days, longer than the topics' retention in every deployment we run. */
export const DEFAULT_PROCESSED_EVENTS_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Default time between two purges: hourly is plenty for marks kept for days. */
export const DEFAULT_PROCESSED_EVENTS_PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** Rows deleted per statement: keeps each DELETE's locks and WAL short. */
const PURGE_BATCH = 10_000;
/** Statements per purge run; a backlog larger than this is finished by the next runs. */
const MAX_BATCHES_PER_RUN = 100;

export interface ProcessedEventsPurgerOptions {
  sql: SqlExecutor;
  /** The consuming subgraph's PostgreSQL schema holding `processed_events`. */
  schema: string;
  /**
   * How long a processed-mark is kept (ms). A redelivery inside this window is still deduplicated; make it
   * longer than the topics' retention, or a replay from the oldest retained record could apply an event twice.
   */
  retentionMs: number;
  /** Time between two purges (ms, default one hour); the first runs right after `start()`. */
  intervalMs?: number;
  logger?: Logger;
}

/**
 * Deletes processed-marks (`<schema>.processed_events`) older than the retention, periodically, so the
 * deduplication table of an idempotent consumer does not grow forever (ADR 0003). One per consuming
 * subgraph instance; several instances purging the same schema is harmless (the DELETEs just find less).
 */
export class ProcessedEventsPurger {
  readonly #options: ProcessedEventsPurgerOptions;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #closed = false;

  constructor(options: ProcessedEventsPurgerOptions) {
    if (!(options.retentionMs > 0)) throw new RangeError('retentionMs must be positive');
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Starts the schedule: one purge now, then one every `intervalMs`. */
  start(): this {
    const interval = this.#options.intervalMs ?? DEFAULT_PROCESSED_EVENTS_PURGE_INTERVAL_MS;
    const tick = (): void => {
      void this.purgeNow().catch((error: unknown) =>
        // The database being down is not fatal here: the next tick tries again.
        this.#logger.warn(
          { err: describeError(error), schema: this.#options.schema },
          'processed-events purge failed',
        ),
      );
    };
    tick();
    this.#timer = setInterval(tick, interval);
    this.#timer.unref();
    return this;
  }

  /** Purges now (joining a purge already running); resolves with the number of marks deleted. */
  purgeNow(): Promise<number> {
    this.#running ??= this.#purge().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops the schedule and waits for a purge in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #purge(): Promise<number> {
    const { sql, schema, retentionMs } = this.#options;
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !this.#closed; batch += 1) {
      const deleted = await purgeProcessed(sql, schema, retentionMs, PURGE_BATCH);
      total += deleted;
      if (deleted < PURGE_BATCH) break;
    }
    if (total > 0) this.#logger.info({ schema, deleted: total, retentionMs }, 'purged processed-event marks');
    return total;
  }
}
