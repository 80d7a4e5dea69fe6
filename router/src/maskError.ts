import { ErrorCode, type Logger } from '@cap/runtime';
import type { GraphQLFormattedError } from 'graphql';

/** Codes clients may see as they are: ours, and GraphQL's own request errors. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Extension keys that may carry internals (stack traces, upstream URLs and bodies) and never leave the router. */
const INTERNAL_EXTENSIONS = ['exception', 'stacktrace', 'response', 'http'];

/**
 * Masks every error the client could not act on (docs/CONVENTIONS.md §9): unknown codes become INTERNAL_SERVER_ERROR with a
 * generic message, after being logged with their cause. Internal extension keys are always dropped.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const code = formatted.extensions?.['code'];
  if (typeof code === 'string' && CLIENT_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    const extensions = { ...formatted.extensions };
    for (const key of INTERNAL_EXTENSIONS) delete extensions[key];
    return { ...formatted, extensions };
  }
  logger.error({ err: error, code, path: formatted.path }, 'unexpected error; masked for the client');
  return {
    message: 'Internal server error.',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
