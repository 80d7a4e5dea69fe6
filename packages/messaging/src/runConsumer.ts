import {
  eventContracts,
  safeParseEnvelope,
  type AnyContractRegistry,
  type RegistryEnvelope,
} from '@cap/events';
import { backoffDelay, sleep } from './backoff.js';
import { MessagingErrorCode } from './errors.js';
import { DlqHeader, dlqTopic, EventHeader, type BusRecord, type EventBus } from './EventBus.js';
import { describeError, silentLogger, type Logger } from './logger.js';
import { PROCESSED_TABLE } from './outbox.js';
import { quoteSchema, type SqlExecutor } from './sql.js';

/** What a handler gets beside the envelope. */
export interface ConsumerContext {
  /**
   * The transaction the event's processed-mark is written in. Write the handler's side effects through it
   * and they commit atomically with the mark: either the event is applied and remembered, or neither.
   */
  sql: SqlExecutor;
  /** The raw record, for the rare handler that needs a header. */
  record: BusRecord;
  groupId: string;
  /** 1 on first delivery to the handler, then 2, 3... up to `maxAttempts`. */
  attempt: number;
  /** Trace context of the producing request, to continue the trace in the consumer's spans and logs. */
  traceparent: string | undefined;
  tracestate: string | undefined;
  requestId: string | undefined;
  actorId: string | undefined;
  logger: Logger;
}

export interface RunConsumerOptions<R extends AnyContractRegistry> {
  bus: EventBus;
  sql: SqlExecutor;
  /** The consuming subgraph's PostgreSQL schema holding `processed_events`. */
  schema: string;
  /** Consumer group, e.g. `dashboard.activity-feed`; also the deduplication scope. */
  groupId: string;
  topics: string[];
  /**
   * Applies one validated event. Throwing means "not applied": the transaction (with anything written
   * through `ctx.sql`) is rolled back and the event retried, then dead-lettered. Throw an error with
   * `retryable: false` to dead-letter at once (e.g. a reference the event can never satisfy).
   */
  handle: (envelope: RegistryEnvelope<R>, ctx: ConsumerContext) => Promise<void>;
  /** Contracts to validate against (default: every platform contract). Unknown types are dead-lettered. */
  contracts?: R;
  /**
   * The event types this consumer handles, when its topics also carry types that other groups consume (`cicd.fix`:
   * cicd reads FixTaskCreated, orchestration FixRequested and FixSuperseded). A record of another type the contracts
   * know is acknowledged unvalidated (no processed-mark): its own consumer validates it and dead-letters it if it
   * must, so a malformed event lands in the dead-letter topic once, not once per group. Default: every type.
   */
  handles?: readonly string[];
  /**
   * Whether this group dead-letters records no contract can read (not JSON, no envelope, an unknown type). Default
   * true; with several groups on a topic exactly one of them should (the others set false and acknowledge them).
   */
  deadLetterUnreadable?: boolean;
  logger?: Logger;
  /** Handler attempts before the event is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Delay before the second attempt (default 100 ms), doubling after each further failure. */
  retryDelayMs?: number;
  /**
   * Where a new consumer group starts (default true: from the oldest retained event), so a consumer
   * deployed after events were published still sees them. Ignored once the group has committed offsets.
   */
  fromBeginning?: boolean;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Leaves the group after the event in flight is handled. Idempotent. */
  close(): Promise<void>;
}

type Outcome = 'applied' | 'duplicate';

/**
 * Runs an idempotent, validating consumer over a bus subscription.
 *
 * Per record: parse the JSON, validate it against its contract, then in one transaction insert the
 * `(groupId, event id)` processed-mark and run `handle`. A duplicate (the mark already exists) is skipped.
 * A handler failure is retried up to `maxAttempts` with backoff; records that can never succeed (not JSON,
 * unknown or invalid contract, handler out of attempts) are published to `<topic>.dlq` untouched, with
 * the reason in `dlq-*` headers, and the consumer moves on: nothing is lost and nothing blocks the topic.
 *
 * Failures of our own infrastructure (the database or the DLQ publish) are not the event's fault and are
 * never dead-lettered: they reject to the bus, which redelivers the record after a backoff.
 */
export async function runConsumer<R extends AnyContractRegistry = typeof eventContracts>(
  options: RunConsumerOptions<R>,
): Promise<RunningConsumer> {
  const { bus, sql, groupId, topics, handle } = options;
  const contracts = (options.contracts ?? eventContracts) as R;
  const logger = options.logger ?? silentLogger;
  const maxAttempts = options.maxAttempts ?? 3;
  const retry = { baseDelayMs: options.retryDelayMs ?? 100, factor: 2 };
  const processed = `${quoteSchema(options.schema)}."${PROCESSED_TABLE}"`;
  const closing = new AbortController();
  const handled = options.handles ? new Set(options.handles) : null;
  const known = new Set(Object.values(contracts).map((contract) => contract.type));
  const deadLetterUnreadable = options.deadLetterUnreadable ?? true;
  /** Why a record is left to another group, or null when it is this group's to read. */
  const othersRecord = (value: unknown): string | null => {
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && known.has(type)) {
      return handled && !handled.has(type) ? `${type} is handled by other groups` : null;
    }
    return deadLetterUnreadable ? null : 'unreadable records are dead-lettered by another group';
  };

  const deadLetter = async (
    record: BusRecord,
    code: string,
    reason: string,
    attempts: number,
  ): Promise<void> => {
    await bus.publish([
      {
        topic: dlqTopic(record.topic),
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [DlqHeader.ERROR]: reason.slice(0, 1_000),
          [DlqHeader.ERROR_CODE]: code,
          [DlqHeader.ORIGINAL_TOPIC]: record.topic,
          [DlqHeader.CONSUMER_GROUP]: groupId,
          [DlqHeader.ATTEMPTS]: String(attempts),
          [DlqHeader.FAILED_AT]: new Date().toISOString(),
        },
      },
    ]);
    logger.error(
      {
        groupId,
        topic: record.topic,
        key: record.key,
        eventId: record.headers[EventHeader.EVENT_ID],
        code,
        reason,
        attempts,
      },
      'event dead-lettered',
    );
  };

  const onRecord = async (record: BusRecord): Promise<void> => {
    let value: unknown;
    try {
      value = JSON.parse(record.value);
    } catch (error) {
      if (!deadLetterUnreadable) return;
      return deadLetter(
        record,
        MessagingErrorCode.JSON_INVALID,
        `value is not JSON: ${describeError(error).message}`,
        0,
      );
    }
    const skipped = othersRecord(value);
    if (skipped !== null) {
      logger.debug({ groupId, topic: record.topic, key: record.key, reason: skipped }, 'record skipped');
      return;
    }
    const parsed = safeParseEnvelope(value, contracts);
    if (!parsed.ok) return deadLetter(record, parsed.error.code, parsed.error.message, 0);
    const envelope = parsed.envelope;
    const bindings = {
      groupId,
      topic: record.topic,
      eventId: envelope.id,
      eventType: envelope.type,
      eventVersion: envelope.version,
    };

    for (let attempt = 1; ; attempt += 1) {
      let handlerFailed = false;
      try {
        const outcome = await sql.transaction<Outcome>(async (tx) => {
          // Mark first: the primary key also serialises two members racing on the same event (during a
          // rebalance), the second waits here and then sees the first one's committed mark.
          const marked = await tx.query(
            `INSERT INTO ${processed} ("consumer_group", "event_id") VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING RETURNING "event_id"`,
            [groupId, envelope.id],
          );
          if (marked.length === 0) return 'duplicate';
          try {
            await handle(envelope, {
              sql: tx,
              record,
              groupId,
              attempt,
              traceparent: envelope.metadata.traceparent ?? record.headers[EventHeader.TRACEPARENT],
              tracestate: envelope.metadata.tracestate ?? record.headers[EventHeader.TRACESTATE],
              requestId: envelope.metadata.requestId ?? record.headers[EventHeader.REQUEST_ID],
              actorId: envelope.metadata.actorId,
              logger,
            });
          } catch (error) {
            handlerFailed = true;
            throw error;
          }
          return 'applied';
        });
        logger.debug(
          { ...bindings, outcome, attempt },
          outcome === 'applied' ? 'event applied' : 'duplicate event skipped',
        );
        return;
      } catch (error) {
        // Not the handler: the database is unavailable or the mark failed. Let the bus redeliver.
        if (!handlerFailed) throw error;
        const retryable = (error as { retryable?: unknown } | null)?.retryable !== false;
        if (!retryable || attempt >= maxAttempts) {
          return deadLetter(record, MessagingErrorCode.HANDLER_FAILED, describeError(error).message, attempt);
        }
        // Shutting down with attempts left: not the event's fault, leave it to the group's next owner.
        if (closing.signal.aborted) throw error;
        const delayMs = backoffDelay(attempt, retry);
        logger.warn(
          { ...bindings, err: describeError(error), attempt, delayMs },
          'event handler failed; retrying',
        );
        await sleep(delayMs, closing.signal);
        if (closing.signal.aborted) throw error;
      }
    }
  };

  // Dead-letter topics are created up front: a broker with auto-creation off would otherwise fail the
  // first dead-lettering, and the record would be redelivered forever.
  await bus.ensureTopics([...topics, ...topics.map(dlqTopic)]);
  const subscription = await bus.subscribe({
    groupId,
    topics,
    fromBeginning: options.fromBeginning ?? true,
    handler: onRecord,
  });
  logger.info({ groupId, topics }, 'consumer started');
  let closed: Promise<void> | undefined;
  return {
    close: () =>
      (closed ??= (async () => {
        closing.abort();
        await subscription.close();
        logger.info({ groupId, topics }, 'consumer stopped');
      })()),
  };
}
