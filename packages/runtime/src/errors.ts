import { GraphQLError } from 'graphql';

/**
 * The one registry of error codes clients see in `extensions.code`. Every code the platform
 * returns is listed here and in the README; tests assert on these constants, never on message text.
 */
export const ErrorCode = {
  /** No credentials, or credentials that failed verification (expired, tampered, revoked). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Authenticated, but the role or scopes do not allow the operation. */
  FORBIDDEN: 'FORBIDDEN',
  /** Input failed validation; `extensions.field` and `extensions.expected` say what was wrong. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** Email and password did not match a user (never says which of the two was wrong). */
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  /** A refresh token was unknown, expired or already rotated; reuse also revokes its family. */
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  /** Too many attempts; `extensions.retryAfterSeconds` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The requested entity does not exist or is not visible to the caller. */
  NOT_FOUND: 'NOT_FOUND',
  /** The request conflicts with existing state (e.g. an email already registered). */
  CONFLICT: 'CONFLICT',
  /** A request reached a subgraph without a valid router-signed identity token. */
  ROUTER_TOKEN_REQUIRED: 'ROUTER_TOKEN_REQUIRED',
  /** The request body or a field exceeded its size limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The operation broke a structural limit; `extensions.limit`, `max` and `actual` say which. */
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  /**
   * A list field declared with `@listSize(requireOneSlicingArgument: true)` was selected without exactly one of
   * its slicing arguments; `extensions.field`, `slicingArguments` and `given` say which.
   */
  SLICING_ARGUMENT_REQUIRED: 'SLICING_ARGUMENT_REQUIRED',
  /** The operation's estimated cost is above the maximum; `extensions.cost = { estimated, max }`. */
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  /** Introspection is disabled for this caller (production, not ADMIN). */
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  /** Batched (array) requests are off, or the batch is larger than allowed; `extensions.max`. */
  BATCHING_NOT_ALLOWED: 'BATCHING_NOT_ALLOWED',
  /** Rate limiting cannot be checked (Redis unreachable in fail-closed mode); retry later (HTTP 503). */
  RATE_LIMITER_UNAVAILABLE: 'RATE_LIMITER_UNAVAILABLE',
  /** A task state change the state machine forbids; `extensions.from` and `extensions.to` name the states. */
  INVALID_TASK_TRANSITION: 'INVALID_TASK_TRANSITION',
  /** A subgraph could not be reached or answered with an error the router cannot pass on. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** A CI log is not text (NUL bytes, mostly control characters or invalid UTF-8); `extensions.offset`. */
  CI_LOG_NOT_TEXT: 'CI_LOG_NOT_TEXT',
  /** A CI log (or one archive entry, or a line) is over its size limit; `extensions.limit`, `max`, `actual`. */
  CI_LOG_TOO_LARGE: 'CI_LOG_TOO_LARGE',
  /** A run-logs archive is not a readable ZIP (truncated, corrupt, encrypted, unsupported compression). */
  CI_LOG_ARCHIVE_INVALID: 'CI_LOG_ARCHIVE_INVALID',
  /** A run-logs archive breaks a zip-bomb limit (entries, total bytes, compression ratio); `limit`, `max`, `actual`. */
  CI_LOG_ARCHIVE_LIMIT_EXCEEDED: 'CI_LOG_ARCHIVE_LIMIT_EXCEEDED',
  /** No GitHub credential reaches the repository (no App installation, token or OAuth grant); `extensions.fix`. */
  GITHUB_NOT_CONFIGURED: 'GITHUB_NOT_CONFIGURED',
  /** GitHub failed or kept refusing (5xx, rate limits beyond the retries); `extensions.status` when it answered. */
  GITHUB_UNAVAILABLE: 'GITHUB_UNAVAILABLE',
  /** An OAuth callback's `state` is unknown, expired, already used or another user's. */
  OAUTH_STATE_INVALID: 'OAUTH_STATE_INVALID',
  /**
   * The database could not run the operation's transaction in time (no connection free within the wait, or the
   * transaction outlived its limit): it did not commit; retry later (HTTP 503).
   */
  DATABASE_BUSY: 'DATABASE_BUSY',
  /** Anything unexpected; details are logged server-side, never sent to the client. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The HTTP status of a response refused as a whole with each code (GraphQL over HTTP). A refusal decided on a
 * well-formed operation (authorization in `reject` mode, introspection, cost) is an ordinary GraphQL result:
 * 200. Errors raised while executing an operation always travel in a 200 response, whatever their code.
 */
const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 200,
  BAD_USER_INPUT: 400,
  INVALID_CREDENTIALS: 200,
  INVALID_REFRESH_TOKEN: 200,
  RATE_LIMITED: 429,
  NOT_FOUND: 200,
  CONFLICT: 200,
  ROUTER_TOKEN_REQUIRED: 401,
  PAYLOAD_TOO_LARGE: 413,
  OPERATION_LIMIT_EXCEEDED: 400,
  SLICING_ARGUMENT_REQUIRED: 400,
  COST_LIMIT_EXCEEDED: 200,
  INTROSPECTION_DISABLED: 200,
  BATCHING_NOT_ALLOWED: 400,
  RATE_LIMITER_UNAVAILABLE: 503,
  INVALID_TASK_TRANSITION: 200,
  SUBGRAPH_UNAVAILABLE: 503,
  CI_LOG_NOT_TEXT: 200,
  CI_LOG_TOO_LARGE: 200,
  CI_LOG_ARCHIVE_INVALID: 200,
  CI_LOG_ARCHIVE_LIMIT_EXCEEDED: 200,
  GITHUB_NOT_CONFIGURED: 200,
  GITHUB_UNAVAILABLE: 503,
  OAUTH_STATE_INVALID: 400,
  DATABASE_BUSY: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/** The HTTP status of a request refused with `code` (see the table above; README "Error codes"). */
export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

/**
 * Builds a GraphQL error with a stable code and structured data beside it, e.g.
 * `codedError('RATE_LIMITED', 'Too many login attempts', { retryAfterSeconds: 30 })`.
 */
export function codedError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** True when `error` is a GraphQLError carrying one of our codes (i.e. safe to show a client). */
export function isCodedError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  const code = error.extensions['code'];
  return typeof code === 'string' && code in ErrorCode && code !== ErrorCode.INTERNAL_SERVER_ERROR;
}
