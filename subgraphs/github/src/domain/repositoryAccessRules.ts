import type { Principal } from '@cap/runtime';
import type { Prisma, Repository } from '../generated/prisma/client.js';

/**
 * Whether `principal` may see `repository` and its data (pull requests, branches, permissions), and act on it. A
 * repository reached through the App or the personal access token is the platform's: every signed-in reader
 * (`repos:read`, checked by the directive) may see it. One connected through a user's own OAuth token is reached
 * with that user's GitHub identity, so only that user (and administrators) may see it or act on it; to everyone
 * else it does not exist.
 */
export function mayReadRepository(
  principal: Principal,
  repository: Pick<Repository, 'access' | 'connectedById'>,
): boolean {
  if (principal.kind === 'anonymous') return false;
  if (repository.access !== 'OAUTH') return true;
  return principal.role === 'ADMIN' || principal.userId === repository.connectedById;
}

/**
 * {@link mayReadRepository} as a Prisma filter, so that lists apply it in SQL (pages, cursors and counts stay
 * right). Anonymous callers match nothing.
 */
export function readableRepositoriesWhere(principal: Principal): Prisma.RepositoryWhereInput {
  if (principal.kind === 'anonymous') return { id: { in: [] } };
  if (principal.role === 'ADMIN') return {};
  return { OR: [{ access: { not: 'OAUTH' } }, { connectedById: principal.userId }] };
}

/**
 * Whether a service may be handed `repository`'s credential for work done on behalf of `onBehalfOf` (a task's
 * creator; absent for the platform's own monitoring reads, e.g. cicd's build logs). A repository connected with a
 * person's own OAuth token acts as that person on GitHub, so clones, pushes and pull requests for anyone else's
 * task are refused, administrators' included (they may read it, not act as its connector).
 */
export function mayActWithRepositoryCredential(
  repository: Pick<Repository, 'access' | 'connectedById'>,
  onBehalfOf: string | undefined,
): boolean {
  if (repository.access !== 'OAUTH' || onBehalfOf === undefined) return true;
  return onBehalfOf === repository.connectedById;
}
