import { codedError, ErrorCode, hasScope, type Principal, type Scope } from '@cap/runtime';

/** The authenticated principal, or UNAUTHENTICATED. */
export function requireAuthenticated(principal: Principal): Exclude<Principal, { kind: 'anonymous' }> {
  if (principal.kind === 'anonymous') throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
  return principal;
}

/** The principal when it holds `scope`; UNAUTHENTICATED for anonymous callers, FORBIDDEN otherwise. */
export function requireScope(principal: Principal, scope: Scope): Exclude<Principal, { kind: 'anonymous' }> {
  const authenticated = requireAuthenticated(principal);
  if (!hasScope(authenticated, scope)) {
    throw codedError(ErrorCode.FORBIDDEN, `This operation requires the ${scope} scope.`, {
      requiredScope: scope,
    });
  }
  return authenticated;
}
