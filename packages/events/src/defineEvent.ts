import { z } from 'zod';
import {
  envelopeSchema,
  EVENT_TYPE_PATTERN,
  TOPIC_PATTERN,
  type AnyEnvelope,
  type Envelope,
  type EventMetadata,
} from './envelope.js';
import { EventError, EventErrorCode, type EventIssue } from './errors.js';

/** What a context declares once per event version (docs/CONVENTIONS.md §6). */
export interface EventDefinition<
  TType extends string,
  TVersion extends number,
  TTopic extends string,
  TPayload extends z.ZodType,
> {
  /** Past-tense PascalCase name, e.g. `UserRegistered`. */
  type: TType;
  /** Starts at 1. A breaking payload change is a new version with its own contract, never an edit. */
  version: TVersion;
  /** `<context>.<aggregate>`, e.g. `identity.user`. Every version of a type goes to the same topic. */
  topic: TTopic;
  /** The fact's data. Unknown keys are stripped on parse, so adding an optional field is not breaking. */
  payload: TPayload;
  /** What the fact means, for the event catalogue. */
  description?: string;
}

/** Everything about an event that is not the payload, supplied by the producer when it creates one. */
export interface CreateEventMeta {
  /** The producing service, e.g. `identity`. */
  source: string;
  /** The aggregate the event is about; becomes the partition key. */
  aggregateId: string;
  metadata?: EventMetadata;
  /** Defaults to a random UUID. Pass one only to make creation deterministic (tests, re-emission). */
  id?: string;
  /** Defaults to now. */
  occurredAt?: Date | string;
}

/** Outcome of {@link EventContract.safeParse}: the typed envelope or the coded error, never a throw. */
export type ParseResult<T> = { ok: true; envelope: T } | { ok: false; error: EventError };

/**
 * One versioned event, validated at both ends: `create` refuses to emit an invalid event, `parse` refuses to
 * hand a consumer one.
 */
export interface EventContract<
  TType extends string = string,
  TVersion extends number = number,
  TTopic extends string = string,
  TPayload extends z.ZodType = z.ZodType,
> {
  /** Registry key, `${type}.v${version}`. */
  readonly key: `${TType}.v${TVersion}`;
  readonly type: TType;
  readonly version: TVersion;
  readonly topic: TTopic;
  readonly payload: TPayload;
  readonly description: string | undefined;
  /** The whole envelope's schema, with `type`, `version` and `topic` pinned to this contract. */
  readonly schema: z.ZodType<Envelope<TType, TVersion, TTopic, z.output<TPayload>>>;
  /**
   * Builds a validated envelope.
   * @throws {EventError} `EVENT_VALIDATION_FAILED` when the payload or meta do not match.
   */
  create(
    payload: z.input<TPayload>,
    meta: CreateEventMeta,
  ): Envelope<TType, TVersion, TTopic, z.output<TPayload>>;
  /**
   * Validates an untrusted value (typically a parsed Kafka record).
   * @throws {EventError} `EVENT_VALIDATION_FAILED` with one issue per problem.
   */
  parse(value: unknown): Envelope<TType, TVersion, TTopic, z.output<TPayload>>;
  /** Like {@link EventContract.parse} but returns the error instead of throwing it. */
  safeParse(value: unknown): ParseResult<Envelope<TType, TVersion, TTopic, z.output<TPayload>>>;
  /**
   * True when an already validated envelope is of this type and version; narrows its payload type. Does
   * not re-validate: use it to dispatch on envelopes that came out of `parse` or a registry.
   */
  is(envelope: AnyEnvelope): envelope is Envelope<TType, TVersion, TTopic, z.output<TPayload>>;
}

/** Any contract, whatever its payload. */
export type AnyEventContract = EventContract<string, number, string, z.ZodType>;

/** The validated envelope type of a contract (or of a union of contracts). */
export type EnvelopeOf<C> =
  C extends EventContract<infer TType, infer TVersion, infer TTopic, infer TPayload>
    ? Envelope<TType, TVersion, TTopic, z.output<TPayload>>
    : never;

/** Turns zod issues into our path/message pairs, so zod never leaks through our API. */
export function toEventIssues(error: z.ZodError): EventIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function describeIssues(issues: readonly EventIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}

/**
 * Declares a versioned event contract.
 *
 * @example
 * export const UserRegistered = defineEvent({
 *   type: 'UserRegistered', version: 1, topic: 'identity.user',
 *   payload: z.object({ userId: z.uuid(), email: z.email(), role: Role }),
 * });
 * const envelope = UserRegistered.create({ userId, email, role }, { source: 'identity', aggregateId: userId });
 */
export function defineEvent<
  const TType extends string,
  const TVersion extends number,
  const TTopic extends string,
  TPayload extends z.ZodType,
>(
  definition: EventDefinition<TType, TVersion, TTopic, TPayload>,
): EventContract<TType, TVersion, TTopic, TPayload> {
  const { type, version, topic, payload, description } = definition;
  // Contracts are declared at module load; a malformed one is a programming error, so fail loudly there.
  if (!EVENT_TYPE_PATTERN.test(type))
    throw new TypeError(`Event type "${type}" must be PascalCase (past tense).`);
  if (!Number.isInteger(version) || version < 1) {
    throw new TypeError(`Event ${type} version must be a positive integer, got ${version}.`);
  }
  if (!TOPIC_PATTERN.test(topic))
    throw new TypeError(`Event ${type} topic "${topic}" must be <context>.<aggregate>.`);

  const key = `${type}.v${version}` as const;
  type Out = Envelope<TType, TVersion, TTopic, z.output<TPayload>>;
  const schema = envelopeSchema.extend({
    type: z.literal(type),
    version: z.literal(version),
    topic: z.literal(topic),
    payload,
  }) as unknown as z.ZodType<Out>;

  const safeParse = (value: unknown): ParseResult<Out> => {
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, envelope: result.data };
    const issues = toEventIssues(result.error);
    return {
      ok: false,
      error: new EventError(
        EventErrorCode.VALIDATION_FAILED,
        `${key} is invalid: ${describeIssues(issues)}`,
        {
          eventType: type,
          eventVersion: version,
          issues,
        },
      ),
    };
  };

  return {
    key,
    type,
    version,
    topic,
    payload,
    description,
    schema,
    create(data, meta) {
      const occurredAt = meta.occurredAt ?? new Date();
      const result = safeParse({
        id: meta.id ?? globalThis.crypto.randomUUID(),
        type,
        version,
        topic,
        occurredAt: occurredAt instanceof Date ? occurredAt.toISOString() : occurredAt,
        source: meta.source,
        aggregateId: meta.aggregateId,
        payload: data,
        metadata: meta.metadata ?? {},
      });
      if (!result.ok) throw result.error;
      return result.envelope;
    },
    parse(value) {
      const result = safeParse(value);
      if (!result.ok) throw result.error;
      return result.envelope;
    },
    safeParse,
    is(envelope): envelope is Out {
      return envelope.type === type && envelope.version === version;
    },
  };
}
