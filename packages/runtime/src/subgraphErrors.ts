import { ApolloServerErrorCode } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
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
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
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
