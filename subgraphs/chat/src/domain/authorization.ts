import { codedError, ErrorCode, hasScope, type Principal, type Scope } from '@cap/runtime';

/** An authenticated principal (a user, or an API key acting for one). */
export type Caller = Exclude<Principal, { kind: 'anonymous' }>;

/** The authenticated principal, or UNAUTHENTICATED. */
export function requireAuthenticated(principal: Principal): Caller {
  if (principal.kind === 'anonymous') throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
  return principal;
}

/** The principal when it holds `scope`; UNAUTHENTICATED for anonymous callers, FORBIDDEN otherwise. */
export function requireScope(principal: Principal, scope: Scope): Caller {
  const authenticated = requireAuthenticated(principal);
  if (!hasScope(authenticated, scope)) {
    throw codedError(ErrorCode.FORBIDDEN, `This operation requires the ${scope} scope.`, {
      requiredScope: scope,
    });
  }
  return authenticated;
}

/**
 * What chat answers for a conversation the caller may not use: NOT_FOUND when it does not exist, FORBIDDEN
 * when it exists and the caller is not a participant (ids are random UUIDs, so saying it exists leaks nothing
 * useful, and clients can tell "wrong id" from "ask to be added").
 */
export function conversationNotVisible(conversationId: string, exists: boolean): Error {
  return exists
    ? codedError(ErrorCode.FORBIDDEN, 'Only participants of this conversation may do this.', {
        id: conversationId,
      })
    : codedError(ErrorCode.NOT_FOUND, 'Conversation not found.', { id: conversationId });
}
