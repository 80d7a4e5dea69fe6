import { ApolloServerErrorCode } from '@apollo/server/errors';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { ErrorCode } from './errors.js';

/**
 * Keeps coded errors (ours and GraphQL validation errors) and replaces anything else with a generic
 * INTERNAL_SERVER_ERROR after logging its cause.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const code = formatted.extensions?.['code'];
  if (code !== undefined && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  const original = rootCause(error);
  if (isTransactionNotRun(original)) {
    logger.warn({ err: original, path: formatted.path }, 'database busy: a transaction did not run in time');
    const busy: GraphQLFormattedError = {
      message: 'The database was too busy to run this operation in time; it did not commit. Retry later.',
      extensions: { code: ErrorCode.DATABASE_BUSY },
    };
    return formatted.path ? { ...busy, path: formatted.path } : busy;
  }
  logger.error({ err: original, path: formatted.path }, 'unexpected error in resolver');
  const masked: GraphQLFormattedError = {
    message: 'Internal server error.',
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
  return formatted.path ? { ...masked, path: formatted.path } : masked;
}

/**
 * {@link maskError} for graphql-ws, which (unlike Apollo Server) leaves GraphQL's own request errors uncoded:
 * those (no original error: a syntax or validation problem of the operation) get Apollo's codes and pass.
 */
export function maskSubscriptionError(error: GraphQLError, logger: Logger): GraphQLFormattedError {
  const formatted = error.toJSON();
  // A variable the operation's types refuse (an Int beyond 32 bits, a string for an Int): graphql-js wraps the
  // scalar's own error, so it has an original error, yet it is the client's input, as Apollo Server codes it.
  if (error.path === undefined && error.message.startsWith('Variable "$'))
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT } };
  if (error.originalError === undefined && error.extensions['code'] === undefined) {
    const code = error.message.startsWith('Syntax Error')
      ? ApolloServerErrorCode.GRAPHQL_PARSE_FAILED
      : ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED;
    return { ...formatted, extensions: { ...formatted.extensions, code } };
  }
  return maskError(formatted, error, logger);
}

/**
 * Prisma's errors for a transaction that did not commit because the database was busy: P2028 (no connection
 * within `maxWait`, or the transaction outlived its `timeout` and was rolled back) and P2024 (no connection from
 * the pool in time). Recognised by their documented `code`, so no Prisma import is needed here.
 */
export function isTransactionNotRun(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return (
    typeof name === 'string' && name.startsWith('PrismaClient') && (code === 'P2028' || code === 'P2024')
  );
}

/**
 * The innermost error behind GraphQL's wrappers, followed by their `originalError` property: `instanceof` is not
 * enough, since the server's graphql-js instance may not be this package's.
 */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth += 1) {
    const inner =
      typeof current === 'object' && current !== null
        ? (current as { originalError?: unknown }).originalError
        : undefined;
    if (inner === undefined || inner === null) break;
    current = inner;
  }
  return current;
}
