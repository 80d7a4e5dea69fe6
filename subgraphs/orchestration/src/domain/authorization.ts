import { codedError, ErrorCode, hasScope, type Principal, type Scope } from '@cap/runtime';

/** An authenticated principal. */
export type Caller = Exclude<Principal, { kind: 'anonymous' }>;

/** The authenticated principal, or UNAUTHENTICATED. */
export function requireAuthenticated(principal: Principal): Caller {
  if (principal.kind === 'anonymous') throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
  return principal;
}

/** The principal when it holds `scope`; UNAUTHENTICATED for anonymous callers, FORBIDDEN otherwise. */
export function requireScope(principal: Principal, scope: Scope): Caller {
  const caller = requireAuthenticated(principal);
  if (!hasScope(caller, scope)) {
    throw codedError(ErrorCode.FORBIDDEN, `This operation requires the ${scope} scope.`, {
      requiredScope: scope,
      scopes: caller.scopes,
    });
  }
  return caller;
}

/**
 * Changing a task (cancel, retry, answer) needs `tasks:write` and either being its creator or an ADMIN:
 * DEVELOPERs act on their own tasks only.
 */
export function requireTaskWriter(principal: Principal, task: { id: string; creatorId: string }): Caller {
  const caller = requireScope(principal, 'tasks:write');
  if (caller.userId !== task.creatorId && caller.role !== 'ADMIN') {
    throw codedError(ErrorCode.FORBIDDEN, 'Only the task’s creator or an admin can change this task.', {
      requiredRole: 'ADMIN',
      taskId: task.id,
    });
  }
  return caller;
}
