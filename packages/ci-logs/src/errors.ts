import { codedError, type ErrorCode } from '@cap/runtime';
import type { GraphQLError } from 'graphql';

/** The codes a CI log can be refused with (all in the one registry, `ErrorCode`; CONVENTIONS §8). */
export type CiLogErrorCode =
  | typeof ErrorCode.CI_LOG_NOT_TEXT
  | typeof ErrorCode.CI_LOG_TOO_LARGE
  | typeof ErrorCode.CI_LOG_ARCHIVE_INVALID
  | typeof ErrorCode.CI_LOG_ARCHIVE_LIMIT_EXCEEDED;

/**
 * A log that cannot be read: binary, over a size limit, a malformed or truncated archive, or an archive that
 * breaks a zip-bomb limit. `details` is structured data for the client (`limit`, `max`, `actual`, `entry`);
 * `cause` keeps the underlying error for logs.
 */
export class CiLogError extends Error {
  override readonly name = 'CiLogError';
  readonly code: CiLogErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: CiLogErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** The error as a client sees it: `extensions.code` and the details beside it (CONVENTIONS §8). */
  toGraphQLError(): GraphQLError {
    return codedError(this.code, this.message, this.details);
  }
}

/** Narrows an unknown thrown value to a {@link CiLogError}, optionally of one code. */
export function isCiLogError(error: unknown, code?: CiLogErrorCode): error is CiLogError {
  return error instanceof CiLogError && (code === undefined || error.code === code);
}
