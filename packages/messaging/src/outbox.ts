import { envelopeSchema, EventError, EventErrorCode, toEventIssues, type AnyEnvelope } from '@cap/events';
import { toBusRecord } from './EventBus.js';
import { quoteSchema, type SqlExecutor } from './sql.js';

/** Table names, the same in every subgraph's schema. */
export const OUTBOX_TABLE = 'outbox_events';
export const PROCESSED_TABLE = 'processed_events';

/**
 * The DDL of both tables in one schema, identical to what `prisma migrate` generates from the models in
 * OUTBOX.md (a test keeps the two in step). Subgraphs using Prisma get the tables from their own migration;
 * this is for tests and for services without Prisma.
 */
export function outboxDdl(schema: string): string {
  const s = quoteSchema(schema);
  return `-- CreateTable
CREATE TABLE ${s}."outbox_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE ${s}."processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON ${s}."outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_topic_key_seq_idx" ON ${s}."outbox_events"("topic", "key", "seq");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON ${s}."processed_events"("processed_at");
`;
}

/** Postgres allows 65535 bind parameters per statement; 7 per row leaves room for 9000, 1000 is plenty. */
const ROWS_PER_INSERT = 1_000;

/**
 * Writes envelopes to the schema's outbox. Call it with the transaction that makes the state change the
 * events describe, so both commit or neither does: that is what makes publishing reliable without a
 * distributed transaction. Then call `relay.notify()` after the commit to publish without waiting for the
 * next poll.
 *
 * Envelopes are re-checked against the common envelope shape (not their payload contract: `create`
 * already did that), so a hand-built envelope cannot poison the outbox.
 * @throws {EventError} `EVENT_VALIDATION_FAILED`
 */
export async function enqueue(
  sql: SqlExecutor,
  schema: string,
  envelopes: readonly AnyEnvelope[],
): Promise<void> {
  const table = `${quoteSchema(schema)}."${OUTBOX_TABLE}"`;
  const rows = envelopes.map((envelope) => {
    const checked = envelopeSchema.safeParse(envelope);
    if (!checked.success) {
      const issues = toEventIssues(checked.error);
      throw new EventError(
        EventErrorCode.VALIDATION_FAILED,
        `Cannot enqueue an invalid envelope: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
        { eventType: envelope?.type, eventVersion: envelope?.version, issues },
      );
    }
    const record = toBusRecord(envelope);
    return [
      envelope.id,
      record.topic,
      record.key,
      envelope.type,
      envelope.version,
      record.value,
      JSON.stringify(record.headers),
    ];
  });
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_INSERT);
    const values = chunk.map((_, row) => {
      const p = row * 7;
      return `($${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}::int, $${p + 6}::jsonb, $${p + 7}::jsonb)`;
    });
    // Rows are inserted in the given order, so `seq` (the relay's publishing order) follows it too.
    await sql.query(
      `INSERT INTO ${table} ("id", "topic", "key", "type", "version", "payload", "headers") VALUES ${values.join(', ')}`,
      chunk.flat(),
    );
  }
}

/**
 * Deletes published outbox rows older than `olderThanMs`, at most `limit` per call. The relay calls it
 * periodically; published rows are kept a while only to help investigate.
 * @returns how many rows were deleted
 */
export async function purgePublished(
  sql: SqlExecutor,
  schema: string,
  olderThanMs: number,
  limit = 10_000,
): Promise<number> {
  const table = `${quoteSchema(schema)}."${OUTBOX_TABLE}"`;
  const rows = await sql.query<{ id: string }>(
    `DELETE FROM ${table} WHERE "id" IN (
       SELECT "id" FROM ${table}
       WHERE "published_at" IS NOT NULL AND "published_at" < now() - ($1::float8 * interval '1 millisecond')
       LIMIT $2::int)
     RETURNING "id"`,
    [olderThanMs, limit],
  );
  return rows.length;
}

/**
 * Forgets processed-event marks older than `olderThanMs`. Keep them far longer than any redelivery can
 * take (the topic's retention is a safe bound): a mark removed too early lets a late duplicate through.
 * @returns how many marks were deleted
 */
export async function purgeProcessed(
  sql: SqlExecutor,
  schema: string,
  olderThanMs: number,
  limit = 10_000,
): Promise<number> {
  const table = `${quoteSchema(schema)}."${PROCESSED_TABLE}"`;
  const rows = await sql.query<{ event_id: string }>(
    `DELETE FROM ${table} WHERE ("consumer_group", "event_id") IN (
       SELECT "consumer_group", "event_id" FROM ${table}
       WHERE "processed_at" < now() - ($1::float8 * interval '1 millisecond')
       LIMIT $2::int)
     RETURNING "event_id"`,
    [olderThanMs, limit],
  );
  return rows.length;
}

/**
 * The outbox side of a subgraph's unit of work (the kit's `EventRecorder`): `record` enqueues envelopes with the
 * caller's transaction (`sql(tx)` reads it as a {@link SqlExecutor}), `committed` wakes the relay so it publishes
 * at once instead of at its next poll.
 */
export function outboxRecorder<Tx>(options: {
  schema: string;
  relay: { notify(): void };
  sql: (tx: Tx) => SqlExecutor;
}): { record(tx: Tx, envelopes: readonly AnyEnvelope[]): Promise<void>; committed(): void } {
  return {
    record: (tx, envelopes) => enqueue(options.sql(tx), options.schema, envelopes),
    committed: () => options.relay.notify(),
  };
}
