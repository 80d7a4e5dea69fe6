import { backoffDelay, sleep } from './backoff.js';
import type { BusRecord, EventBus } from './EventBus.js';
import { describeError, silentLogger, type Logger } from './logger.js';
import { OUTBOX_TABLE, purgePublished } from './outbox.js';
import { quoteSchema, type SqlExecutor } from './sql.js';

/** How a failed publish is retried. PRODUCT.md: 3 retries with exponential backoff. */
export interface RelayRetryOptions {
  /** Retries within one claim after the first failed publish (default 3, so up to 4 tries). */
  attempts: number;
  /** Delay before the first retry (default 200 ms); later ones are multiplied by `factor`. */
  baseDelayMs: number;
  /** Growth of the delay per retry (default 2). */
  factor: number;
  /**
   * Cap of the delay before a failed row is claimed again (default 60_000 ms). After the in-claim
   * retries fail, the row's `next_attempt_at` is pushed out along the same curve, by
   * `baseDelayMs * factor^(retry.attempts + row.attempts)` (1.6 s, 3.2 s, 6.4 s... with the defaults).
   */
  maxDelayMs?: number;
}

export interface OutboxRelayOptions {
  sql: SqlExecutor;
  /** The subgraph's PostgreSQL schema holding `outbox_events`. */
  schema: string;
  bus: EventBus;
  /** Rows claimed and published per transaction (default 100). */
  batchSize?: number;
  /** Idle wait between polls when nothing is pending and nobody called `notify()` (default 250 ms). */
  pollIntervalMs?: number;
  retry?: Partial<RelayRetryOptions>;
  /** Published rows older than this are deleted (default 86_400_000 ms, one day). */
  retainPublishedMs?: number;
  /** How often the relay purges published rows (default 60_000 ms). */
  purgeIntervalMs?: number;
  logger?: Logger;
  /**
   * Test hook, called after the broker acknowledged a batch and before the rows are marked published.
   * Only the crash-recovery tests use it (to kill the process in exactly that window); never set it in
   * production code.
   */
  afterPublishBeforeMark?: (eventIds: readonly string[]) => Promise<void> | void;
}

/** Outcome of {@link OutboxRelay.drainOnce}. */
export interface DrainResult {
  /** Rows published and marked. */
  published: number;
  /** Rows whose publish failed after all retries; they stay pending with a later `next_attempt_at`. */
  failed: number;
}

interface ClaimedRow {
  id: string;
  seq: string;
  topic: string;
  key: string;
  value: string;
  headers: string;
}

/**
 * Moves committed outbox rows to the bus: the second half of the transactional outbox.
 *
 * Each batch is one transaction: claim due rows with `FOR UPDATE SKIP LOCKED` (so relays in several
 * processes share the work and never publish the same row concurrently), publish them, mark them
 * published, commit. A crash between publish and commit leaves the rows unpublished and they are published
 * again: delivery is at-least-once, and consumers deduplicate on the event id.
 *
 * Per key (aggregate) the relay publishes in outbox order: a row is held back while an older row of its key
 * is still pending, whether it waits for a retry or is being published by another relay right now.
 */
export class OutboxRelay {
  readonly #sql: SqlExecutor;
  readonly #schema: string;
  readonly #table: string;
  readonly #bus: EventBus;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #retry: Required<RelayRetryOptions>;
  readonly #retainPublishedMs: number;
  readonly #purgeIntervalMs: number;
  readonly #logger: Logger;
  readonly #afterPublishBeforeMark: OutboxRelayOptions['afterPublishBeforeMark'];
  #loop: Promise<void> | undefined;
  #stopping: AbortController | undefined;
  #wake: AbortController = new AbortController();
  #notified = false;
  #lastPurge = 0;

  constructor(options: OutboxRelayOptions) {
    this.#sql = options.sql;
    this.#schema = options.schema;
    this.#table = `${quoteSchema(options.schema)}."${OUTBOX_TABLE}"`;
    this.#bus = options.bus;
    this.#batchSize = options.batchSize ?? 100;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#retry = {
      attempts: options.retry?.attempts ?? 3,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      factor: options.retry?.factor ?? 2,
      maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
    };
    this.#retainPublishedMs = options.retainPublishedMs ?? 86_400_000;
    this.#purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
    this.#logger = options.logger ?? silentLogger;
    this.#afterPublishBeforeMark = options.afterPublishBeforeMark;
  }

  /** Starts polling in the background. Idempotent. */
  start(): void {
    if (this.#loop) return;
    const stopping = new AbortController();
    this.#stopping = stopping;
    this.#loop = this.#run(stopping.signal);
  }

  /** Stops polling; resolves once the batch in flight (if any) has been published and marked. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping?.abort();
    this.#wake.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#stopping = undefined;
  }

  /** Wakes the relay now instead of at the next poll; call it right after committing enqueued events. */
  notify(): void {
    this.#notified = true;
    this.#wake.abort();
  }

  /**
   * Publishes batches until no due row is left or a batch fails. Safe to call concurrently with a running
   * relay and with other processes' relays. Errors reaching the database are thrown.
   */
  async drainOnce(): Promise<DrainResult> {
    const total: DrainResult = { published: 0, failed: 0 };
    for (;;) {
      const batch = await this.#processBatch();
      total.published += batch.published;
      total.failed += batch.failed;
      // A short or failed batch means the due rows are exhausted (or the broker is down: back off).
      if (batch.failed > 0 || batch.claimed < this.#batchSize || batch.published === 0) return total;
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    this.#logger.info({ schema: this.#schema }, 'outbox relay started');
    while (!signal.aborted) {
      this.#notified = false;
      try {
        const result = await this.drainOnce();
        if (result.published > 0) this.#logger.debug({ schema: this.#schema, ...result }, 'outbox drained');
        await this.#purgeIfDue();
      } catch (error) {
        // Database unreachable and the like: nothing is lost (rows stay pending), so log and poll again.
        this.#logger.error({ err: describeError(error), schema: this.#schema }, 'outbox relay pass failed');
      }
      if (signal.aborted) break;
      // notify() during the pass: go again at once, the new rows may have missed this pass's claim.
      if (this.#notified) continue;
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      await sleep(this.#pollIntervalMs, this.#wake.signal);
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
    }
    this.#logger.info({ schema: this.#schema }, 'outbox relay stopped');
  }

  async #purgeIfDue(): Promise<void> {
    if (Date.now() - this.#lastPurge < this.#purgeIntervalMs) return;
    this.#lastPurge = Date.now();
    const deleted = await purgePublished(this.#sql, this.#schema, this.#retainPublishedMs);
    if (deleted > 0) this.#logger.debug({ schema: this.#schema, deleted }, 'purged published outbox rows');
  }

  async #processBatch(): Promise<DrainResult & { claimed: number }> {
    return this.#sql.transaction(async (tx) => {
      // Due rows in outbox order, skipping rows another relay holds and rows queued behind an older row of
      // the same key that is waiting for its retry time (it must go first).
      const claimed = await tx.query<ClaimedRow>(
        `SELECT o."id", o."seq"::text AS "seq", o."topic", o."key", o."payload"::text AS "value", o."headers"::text AS "headers"
         FROM ${this.#table} o
         WHERE o."published_at" IS NULL AND o."next_attempt_at" <= now()
           AND NOT EXISTS (
             SELECT 1 FROM ${this.#table} p
             WHERE p."topic" = o."topic" AND p."key" = o."key" AND p."seq" < o."seq"
               AND p."published_at" IS NULL AND p."next_attempt_at" > now())
         ORDER BY o."seq"
         LIMIT $1::int
         FOR UPDATE OF o SKIP LOCKED`,
        [this.#batchSize],
      );
      if (claimed.length === 0) return { claimed: 0, published: 0, failed: 0 };

      const rows = await this.#inKeyOrder(tx, claimed);
      if (rows.length === 0) return { claimed: claimed.length, published: 0, failed: 0 };

      const records: BusRecord[] = rows.map((row) => ({
        topic: row.topic,
        key: row.key,
        value: row.value,
        headers: JSON.parse(row.headers) as Record<string, string>,
      }));
      const ids = rows.map((row) => row.id);
      const error = await this.#publishWithRetry(records);
      if (error === undefined) {
        await this.#afterPublishBeforeMark?.(ids);
        await tx.query(
          `UPDATE ${this.#table} SET "published_at" = now(), "last_error" = NULL WHERE "id" IN (${placeholders(ids.length, 1, '::uuid')})`,
          ids,
        );
        return { claimed: claimed.length, published: rows.length, failed: 0 };
      }
      const message = describeError(error).message.slice(0, 2_000);
      // Continue the exponential curve past the in-claim retries, per row, so a long outage is polled
      // ever more rarely (up to maxDelayMs) instead of hammering a dead broker.
      await tx.query(
        `UPDATE ${this.#table}
         SET "attempts" = "attempts" + 1, "last_error" = $1,
             "next_attempt_at" = now() + least($2::float8, $3::float8 * power($4::float8, "attempts" + $5::int)) * interval '1 millisecond'
         WHERE "id" IN (${placeholders(ids.length, 6, '::uuid')})`,
        [
          message,
          this.#retry.maxDelayMs,
          this.#retry.baseDelayMs,
          this.#retry.factor,
          this.#retry.attempts,
          ...ids,
        ],
      );
      this.#logger.error(
        {
          err: describeError(error),
          schema: this.#schema,
          events: ids.length,
          retries: this.#retry.attempts,
        },
        'publishing outbox events failed; they stay pending and will be retried',
      );
      return { claimed: claimed.length, published: 0, failed: rows.length };
    });
  }

  /**
   * Keeps only the claimed rows that are next in line for their key. SKIP LOCKED hides rows another relay
   * is publishing right now; publishing a younger row of the same key meanwhile would reorder the key, so
   * per key we take claimed rows only while they match the key's pending rows from the oldest on.
   */
  async #inKeyOrder(tx: SqlExecutor, claimed: ClaimedRow[]): Promise<ClaimedRow[]> {
    const keys = new Map<string, { topic: string; key: string; maxSeq: bigint }>();
    for (const row of claimed) {
      const id = JSON.stringify([row.topic, row.key]);
      const seq = BigInt(row.seq);
      const entry = keys.get(id);
      if (!entry) keys.set(id, { topic: row.topic, key: row.key, maxSeq: seq });
      else if (seq > entry.maxSeq) entry.maxSeq = seq;
    }
    const pairs = [...keys.values()];
    const pending = await tx.query<{ topic: string; key: string; seq: string }>(
      // ORDER BY the column, not the text alias of the same name: "10" sorts before "9".
      `SELECT p."topic", p."key", p."seq"::text AS "seq" FROM ${this.#table} p
       WHERE p."published_at" IS NULL AND p."seq" <= $1::bigint
         AND (p."topic", p."key") IN (${pairs.map((_, index) => `($${index * 2 + 2}, $${index * 2 + 3})`).join(', ')})
       ORDER BY p."seq"`,
      [
        String(pairs.reduce((max, pair) => (pair.maxSeq > max ? pair.maxSeq : max), 0n)),
        ...pairs.flatMap((pair) => [pair.topic, pair.key]),
      ],
    );
    const pendingByKey = new Map<string, string[]>();
    for (const row of pending) {
      const id = JSON.stringify([row.topic, row.key]);
      const list = pendingByKey.get(id) ?? [];
      list.push(row.seq);
      pendingByKey.set(id, list);
    }
    const position = new Map<string, number>();
    const blocked = new Set<string>();
    const eligible: ClaimedRow[] = [];
    for (const row of claimed) {
      const id = JSON.stringify([row.topic, row.key]);
      if (blocked.has(id)) continue;
      const index = position.get(id) ?? 0;
      if (pendingByKey.get(id)?.[index] === row.seq) {
        eligible.push(row);
        position.set(id, index + 1);
      } else {
        blocked.add(id);
      }
    }
    return eligible;
  }

  /** Publishes with in-claim retries; returns the last error, or undefined on success. */
  async #publishWithRetry(records: BusRecord[]): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#retry.attempts; attempt += 1) {
      if (attempt > 0) {
        const delayMs = backoffDelay(attempt, this.#retry);
        const stopping = this.#stopping?.signal;
        // Stopping: give up the remaining retries; the rows stay pending for the next relay run.
        if (stopping?.aborted) break;
        this.#logger.warn(
          { err: describeError(lastError), schema: this.#schema, attempt, delayMs },
          'publish failed; retrying',
        );
        await sleep(delayMs, stopping);
        if (stopping?.aborted) break;
      }
      try {
        await this.#bus.publish(records);
        return undefined;
      } catch (error) {
        lastError = error;
      }
    }
    return lastError ?? new Error('publish failed');
  }
}

/** `$from::cast, $from+1::cast, ...` for `count` parameters. */
function placeholders(count: number, from: number, cast = ''): string {
  return Array.from({ length: count }, (_, index) => `$${from + index}${cast}`).join(', ');
}
