import { ErrorCode } from '@cap/runtime';
import type { GraphQLFormattedError } from 'graphql';
import type { AuthorizationResult } from './authorize.js';
import type { RateDecision } from './rateLimiter.js';

/** How the policies' decisions read in a response: denied fields' errors, hidden suggestions, budget headers. */

/** The error reported for one field removed (or refused) by authorization, with its path and requirement. */
export function denialError(denial: AuthorizationResult['denials'][number]): GraphQLFormattedError {
  return {
    message:
      denial.code === ErrorCode.UNAUTHENTICATED
        ? 'Authentication required for this field.'
        : 'Not allowed to read or write this field.',
    path: denial.path,
    extensions: { code: denial.code, requirement: denial.requirement },
  };
}

/** The message without graphql-js' "Did you mean …?" suggestion (`HIDE_SUGGESTIONS`). */
export function hideSuggestion(error: GraphQLFormattedError): GraphQLFormattedError {
  return { ...error, message: error.message.replace(/ ?Did you mean .*\?$/, '') };
}

/** The `X-RateLimit-*` headers of a budget decision. */
export function rateHeaders(rate: RateDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-reset': String(Math.max(0, Math.ceil(rate.resetMs / 1000))),
  };
}
