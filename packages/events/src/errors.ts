/**
 * Stable codes for every way an event can be rejected (docs/CONVENTIONS.md §8). Producers see them when `create` is
 * handed a bad payload; consumers see them when a record on the wire does not match its contract, and the
 * messaging layer copies the code into the dead-letter record so an operator knows why it landed there.
 */
export const EventErrorCode = {
  /** The envelope or its payload does not match the contract. */
  VALIDATION_FAILED: 'EVENT_VALIDATION_FAILED',
  /** No contract is registered for the envelope's `type` and `version`. */
  CONTRACT_UNKNOWN: 'EVENT_CONTRACT_UNKNOWN',
  /** Two contracts were registered under the same `${type}.v${version}` key. */
  CONTRACT_DUPLICATE: 'EVENT_CONTRACT_DUPLICATE',
} as const;
export type EventErrorCode = (typeof EventErrorCode)[keyof typeof EventErrorCode];

/** One problem found while validating an envelope: where (`payload.email`) and what was expected. */
export interface EventIssue {
  /** Dotted path inside the envelope; empty for the envelope itself. */
  path: string;
  message: string;
}

/** Structured data carried beside the code, safe to log and to put in a dead-letter header. */
export interface EventErrorDetails {
  eventType?: string | undefined;
  eventVersion?: number | undefined;
  issues?: EventIssue[] | undefined;
}

/** A coded, expected failure of the event layer. Never wraps a stack from user data, only issues. */
export class EventError extends Error {
  override readonly name = 'EventError';
  readonly code: EventErrorCode;
  readonly eventType: string | undefined;
  readonly eventVersion: number | undefined;
  readonly issues: readonly EventIssue[];

  constructor(code: EventErrorCode, message: string, details: EventErrorDetails = {}) {
    super(message);
    this.code = code;
    this.eventType = details.eventType;
    this.eventVersion = details.eventVersion;
    this.issues = details.issues ?? [];
  }
}

/** Narrows an unknown thrown value to an {@link EventError}, optionally of one code. */
export function isEventError(error: unknown, code?: EventErrorCode): error is EventError {
  return error instanceof EventError && (code === undefined || error.code === code);
}
