import type { Principal } from '@cap/runtime';
import type { Repository } from '../generated/prisma/client.js';

/**
 * Whether `principal` may follow `repository`'s pull requests. A repository reached through the App or the
 * personal access token is the platform's: every signed-in reader (`repos:read`, checked by the directive) may
 * follow it. One connected through a user's own OAuth token is reached with that user's GitHub identity, so only
 * that user (and administrators) may follow it.
 */
export function mayReadRepository(
  principal: Principal,
  repository: Pick<Repository, 'access' | 'connectedById'>,
): boolean {
  if (principal.kind === 'anonymous') return false;
  if (repository.access !== 'OAUTH') return true;
  return principal.role === 'ADMIN' || principal.userId === repository.connectedById;
}
