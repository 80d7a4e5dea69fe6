import { randomUUID } from 'node:crypto';
import { scopesForRole, type Principal, type Role } from '@cap/runtime';

/** A signed-in user principal with the scopes of `role` (DEVELOPER unless given; a fresh id unless given). */
export function userPrincipal(
  role: Role = 'DEVELOPER',
  userId: string = randomUUID(),
): Principal & { kind: 'user'; userId: string } {
  return { kind: 'user', userId, role, scopes: scopesForRole(role) };
}
