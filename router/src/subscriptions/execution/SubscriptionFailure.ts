import { codedError, ErrorCode } from '@cap/runtime';
import type { GraphQLFormattedError } from 'graphql';

/**
 * A subscription that ends (or never starts) with errors the client can act on, already formatted and masked:
 * sent as the graphql-ws `error` message, or as the last event of an SSE stream.
 */
export class SubscriptionFailure extends Error {
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors.map((error) => error.message).join('; '));
    this.name = 'SubscriptionFailure';
  }

  /** One coded error. */
  static of(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): SubscriptionFailure {
    return new SubscriptionFailure([codedError(code, message, extensions).toJSON()]);
  }
}

/** The masked stand-in for anything unexpected (the cause is logged where it happened). */
export const INTERNAL_ERROR: GraphQLFormattedError = Object.freeze({
  message: 'Internal server error.',
  extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
});
