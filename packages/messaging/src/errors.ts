/** Stable codes for the messaging layer's failures (docs/CONVENTIONS.md §8). */
export const MessagingErrorCode = {
  /** `publish`/`subscribe` on a bus after `close()`. */
  BUS_CLOSED: 'EVENT_BUS_CLOSED',
  /** A bus record is missing its topic, key or value. */
  RECORD_INVALID: 'EVENT_RECORD_INVALID',
  /** The broker did not acknowledge a publish. */
  PUBLISH_FAILED: 'EVENT_PUBLISH_FAILED',
  /** The broker did not acknowledge a publish within `publishTimeoutMs`. */
  PUBLISH_TIMEOUT: 'EVENT_PUBLISH_TIMEOUT',
  /** A consumer did not join its group within `joinTimeoutMs`. */
  SUBSCRIBE_TIMEOUT: 'EVENT_SUBSCRIBE_TIMEOUT',
  /** A consumed record's value is not JSON. */
  JSON_INVALID: 'EVENT_JSON_INVALID',
  /** A consumer's handler failed `maxAttempts` times (or with a non-retryable error). */
  HANDLER_FAILED: 'EVENT_HANDLER_FAILED',
  /** A PostgreSQL schema name is not a plain lower-case identifier. */
  SCHEMA_NAME_INVALID: 'OUTBOX_SCHEMA_NAME_INVALID',
} as const;
export type MessagingErrorCode = (typeof MessagingErrorCode)[keyof typeof MessagingErrorCode];

/** A coded failure of the messaging layer; `cause` keeps the underlying client error for logs. */
export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  readonly code: MessagingErrorCode;

  constructor(code: MessagingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Narrows an unknown thrown value to a {@link MessagingError}, optionally of one code. */
export function isMessagingError(error: unknown, code?: MessagingErrorCode): error is MessagingError {
  return error instanceof MessagingError && (code === undefined || error.code === code);
}
