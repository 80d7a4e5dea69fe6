import { z } from 'zod';

/** W3C Trace Context `traceparent`: version-traceid-parentid-flags, lower-case hex. */
export const TRACEPARENT_PATTERN = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/**
 * Topic names are `<context>.<aggregate>` (`identity.user`, `ml-classifier.model`): lower-case so they are
 * valid Kafka topic names everywhere, and dotted so a context's topics sort together.
 */
export const TOPIC_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

/** Event types are PascalCase past-tense facts (`UserRegistered`), docs/CONVENTIONS.md §6. */
export const EVENT_TYPE_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

/**
 * Cross-cutting context that travels with an event but is not part of the fact itself: who caused it and
 * which request/trace it belongs to, so a consumer's logs and spans join the producer's.
 */
export const eventMetadataSchema = z.object({
  /** The router's request id of the request that caused the event. */
  requestId: z.string().min(1).max(200).optional(),
  /** W3C trace context of the producing span. */
  traceparent: z
    .string()
    .regex(TRACEPARENT_PATTERN, 'expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)')
    .optional(),
  tracestate: z.string().max(512).optional(),
  /** The user or API key owner on whose behalf the change was made. */
  actorId: z.string().min(1).max(200).optional(),
});

/** See {@link eventMetadataSchema}. */
export type EventMetadata = z.infer<typeof eventMetadataSchema>;

/**
 * The shape every event shares, whatever its payload. Used where the payload's contract is not needed
 * (the outbox stores and forwards envelopes opaquely) and as the base each contract extends.
 */
export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().regex(EVENT_TYPE_PATTERN, 'expected a PascalCase event type'),
  version: z.number().int().positive(),
  topic: z.string().regex(TOPIC_PATTERN, 'expected a topic named <context>.<aggregate>'),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1).max(100),
  aggregateId: z.string().min(1).max(200),
  payload: z.custom<unknown>((value) => value !== undefined, 'expected a payload'),
  metadata: eventMetadataSchema,
});

/**
 * A validated event as it travels: an immutable fact (`type`, `version`, `payload`) about one aggregate
 * (`aggregateId`, also the partition key, so one aggregate's events stay in order), plus where and when it
 * happened and the trace context it belongs to.
 */
export interface Envelope<
  TType extends string = string,
  TVersion extends number = number,
  TTopic extends string = string,
  TPayload = unknown,
> {
  /** Unique per event; consumers deduplicate on it. */
  id: string;
  type: TType;
  version: TVersion;
  topic: TTopic;
  /** ISO-8601 instant the fact became true (the producing transaction's time). */
  occurredAt: string;
  /** The producing service, e.g. `identity`. */
  source: string;
  /** Id of the aggregate the event is about; used as the message key. */
  aggregateId: string;
  payload: TPayload;
  metadata: EventMetadata;
}

/** An envelope whose payload has not been checked against a contract. */
export type AnyEnvelope = Envelope<string, number, string, unknown>;
