import type { AnyEnvelope } from '@cap/events';
import { MessagingError, MessagingErrorCode } from './errors.js';

/**
 * One message on the bus, transport-neutral. `value` is the JSON envelope exactly as produced; a consumer
 * parses and validates it. `key` is the aggregate id: records with the same key keep their order.
 */
export interface BusRecord {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** A live consumer-group membership. */
export interface BusSubscription {
  /**
   * Leaves the group gracefully: waits for the handler call in flight, commits what was handled, and
   * hands the partitions to the remaining members. Idempotent.
   */
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Consumer group: each group sees every record once; members of one group share the partitions. */
  groupId: string;
  topics: string[];
  /**
   * Where a group with no committed position starts: the oldest retained record (`true`) or only records
   * published after it joined (`false`, the default, as in Kafka).
   */
  fromBeginning?: boolean;
  /**
   * Called once per record, one at a time per partition (so in order per key). A rejection means "not
   * handled": the bus does not move past the record and redelivers it after a backoff, so nothing is
   * skipped. Handlers must therefore be idempotent, or be wrapped by `runConsumer`, which is.
   */
  handler: (record: BusRecord) => Promise<void>;
}

/**
 * The only way subgraphs talk to the broker. Two adapters: {@link MemoryEventBus} for in-process tests
 * and single-process development, {@link KafkaEventBus} for everything else.
 */
export interface EventBus {
  /**
   * Publishes records, resolving once the broker has durably accepted all of them (acks=all for Kafka).
   * Records with the same topic and key are stored in the given order.
   * @throws {MessagingError} on failure; some records may have been stored (at-least-once).
   */
  publish(records: BusRecord[]): Promise<void>;
  /**
   * Joins a consumer group; resolves once the member is part of the group. Subscribe to existing topics
   * (see `ensureTopics`): production brokers do not create topics on demand.
   */
  subscribe(options: SubscribeOptions): Promise<BusSubscription>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(topics: string[]): Promise<void>;
  /** Closes every subscription (gracefully) and the producer. Idempotent. */
  close(): Promise<void>;
}

/** Header names the platform puts on every event record; constants, never bare strings (docs/CONVENTIONS.md §10). */
export const EventHeader = {
  EVENT_ID: 'event-id',
  EVENT_TYPE: 'event-type',
  EVENT_VERSION: 'event-version',
  EVENT_SOURCE: 'event-source',
  TRACEPARENT: 'traceparent',
  TRACESTATE: 'tracestate',
  REQUEST_ID: 'request-id',
} as const;

/** Headers added to a record when it is dead-lettered; the original headers are kept beside them. */
export const DlqHeader = {
  /** Human-readable reason, e.g. the handler's error message. */
  ERROR: 'dlq-error',
  /** Stable code, e.g. `EVENT_VALIDATION_FAILED`, `EVENT_HANDLER_FAILED`. */
  ERROR_CODE: 'dlq-error-code',
  ORIGINAL_TOPIC: 'dlq-original-topic',
  CONSUMER_GROUP: 'dlq-consumer-group',
  /** How many times the handler ran before giving up (0 when the record never reached it). */
  ATTEMPTS: 'dlq-attempts',
  /** ISO-8601 time the record was dead-lettered. */
  FAILED_AT: 'dlq-failed-at',
} as const;

/** Suffix of dead-letter topics: `identity.user` → `identity.user.dlq`. */
export const DLQ_SUFFIX = '.dlq';

/** The dead-letter topic of a topic. */
export function dlqTopic(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/**
 * The bus record for an envelope: keyed by aggregate id (per-aggregate order), with the identifying and
 * tracing headers a consumer, or an operator reading the topic, needs without parsing the value.
 */
export function toBusRecord(envelope: AnyEnvelope): BusRecord {
  const headers: Record<string, string> = {
    [EventHeader.EVENT_ID]: envelope.id,
    [EventHeader.EVENT_TYPE]: envelope.type,
    [EventHeader.EVENT_VERSION]: String(envelope.version),
    [EventHeader.EVENT_SOURCE]: envelope.source,
  };
  const { traceparent, tracestate, requestId } = envelope.metadata;
  if (traceparent) headers[EventHeader.TRACEPARENT] = traceparent;
  if (tracestate) headers[EventHeader.TRACESTATE] = tracestate;
  if (requestId) headers[EventHeader.REQUEST_ID] = requestId;
  return { topic: envelope.topic, key: envelope.aggregateId, value: JSON.stringify(envelope), headers };
}

/** Rejects records an adapter could not deliver faithfully; both adapters call it so they agree. */
export function assertValidRecords(records: readonly BusRecord[]): void {
  for (const record of records) {
    const problem =
      typeof record.topic !== 'string' || record.topic.length === 0
        ? 'topic must be a non-empty string'
        : typeof record.key !== 'string'
          ? 'key must be a string'
          : typeof record.value !== 'string'
            ? 'value must be a string'
            : Object.values(record.headers ?? {}).some((value) => typeof value !== 'string')
              ? 'header values must be strings'
              : undefined;
    if (problem) {
      throw new MessagingError(
        MessagingErrorCode.RECORD_INVALID,
        `Invalid bus record for topic ${String(record.topic)}: ${problem}`,
      );
    }
  }
}
