import { RepositoryConnected, RepositoryDisconnected } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { Repository, RepositoryVisibility } from '../generated/prisma/client.js';
import type { GithubDeps } from './deps.js';
import { githubFailure } from './githubAccess.js';
import { mayReadRepository, readableRepositoriesWhere } from './repositoryAccessRules.js';
import { fullNameKey, repositoryCoordinates } from './validation.js';

/** Events of this subgraph are produced as `github`. */
export const EVENT_SOURCE = 'github';

function userIdOf(principal: Principal): string | null {
  return principal.kind === 'anonymous' ? null : principal.userId;
}

function visibilityOf(data: { visibility?: string | undefined; private: boolean }): RepositoryVisibility {
  const visibility = (data.visibility ?? (data.private ? 'private' : 'public')).toUpperCase();
  return visibility === 'PUBLIC' || visibility === 'INTERNAL' ? visibility : 'PRIVATE';
}

/**
 * Connects `owner/name`: GitHub is asked for it with the credentials that reach it (App, token, or the caller's
 * OAuth token), and it is stored with its default branch and visibility. Connecting again refreshes those facts
 * and records no second event. A repository another user connected with their own GitHub account stays theirs:
 * CONFLICT (GitHub just showed the caller the repository, so saying it is connected leaks nothing).
 */
export async function connectRepository(
  deps: GithubDeps,
  principal: Principal,
  input: { owner: string; name: string },
): Promise<Repository> {
  const coordinates = repositoryCoordinates(input.owner, input.name);
  const userId = userIdOf(principal);
  const { client, access } = await deps.access.clientFor(coordinates, { userId });
  let data;
  try {
    ({ data } = await client.rest.repos.get({ owner: coordinates.owner, repo: coordinates.name }));
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
  const facts = {
    githubId: BigInt(data.id),
    owner: data.owner.login,
    name: data.name,
    defaultBranch: data.default_branch,
    visibility: visibilityOf(data),
    access,
    htmlUrl: data.html_url,
    cloneUrl: data.clone_url,
  };
  return inTransaction(deps, async ({ tx }) => {
    const key = fullNameKey(facts.owner, facts.name);
    const existing = await tx.repository.findUnique({ where: { fullNameKey: key } });
    if (existing) {
      if (!mayReadRepository(principal, existing))
        throw codedError(
          ErrorCode.CONFLICT,
          'This repository is connected with another user’s GitHub account; only they (or an admin) can change it.',
        );
      // Reached through the caller's own OAuth token now: it follows that token (and its owner).
      const owner = facts.access === 'OAUTH' ? { connectedById: userId } : {};
      return tx.repository.update({ where: { id: existing.id }, data: { ...facts, ...owner } });
    }
    const created = await tx.repository.create({
      data: { ...facts, fullNameKey: key, connectedById: userId },
    });
    await deps.events.record(tx, [
      RepositoryConnected.create(
        {
          repositoryId: created.id,
          owner: created.owner,
          name: created.name,
          connectedBy: userId,
          defaultBranch: created.defaultBranch,
          visibility: created.visibility,
          access: created.access,
        },
        { source: EVENT_SOURCE, aggregateId: created.id },
      ),
    ]);
    return created;
  });
}

/**
 * Disconnects a repository (its pull requests' records go with it). NOT_FOUND when it is not connected, or when
 * the caller may not see it ({@link mayReadRepository}: one connected with another user's GitHub account).
 */
export async function disconnectRepository(
  deps: GithubDeps,
  principal: Principal,
  id: string,
): Promise<Repository> {
  return inTransaction(deps, async ({ tx }) => {
    const repository = await tx.repository.findUnique({ where: { id } });
    if (!repository || !mayReadRepository(principal, repository))
      throw codedError(ErrorCode.NOT_FOUND, 'No connected repository has this id.');
    await tx.repository.delete({ where: { id } });
    await deps.events.record(tx, [
      RepositoryDisconnected.create(
        {
          repositoryId: id,
          owner: repository.owner,
          name: repository.name,
          disconnectedBy: userIdOf(principal),
        },
        { source: EVENT_SOURCE, aggregateId: id },
      ),
    ]);
    return repository;
  });
}

/** The connected repository `owner/name`, or null (whoever asks: callers apply {@link mayReadRepository}). */
export function findRepository(deps: GithubDeps, owner: string, name: string): Promise<Repository | null> {
  const coordinates = repositoryCoordinates(owner, name);
  return deps.prisma.repository.findUnique({
    where: { fullNameKey: fullNameKey(coordinates.owner, coordinates.name) },
  });
}

/** The connected repository `owner/name` if `principal` may see it, else null (its existence is not told). */
export async function findReadableRepository(
  deps: GithubDeps,
  principal: Principal,
  owner: string,
  name: string,
): Promise<Repository | null> {
  const repository = await findRepository(deps, owner, name);
  return repository && mayReadRepository(principal, repository) ? repository : null;
}

/** The repository `id` if `principal` may see it, else null. */
export function findReadableRepositoryById(
  deps: GithubDeps,
  principal: Principal,
  id: string,
): Promise<Repository | null> {
  return deps.prisma.repository.findFirst({ where: { AND: [{ id }, readableRepositoriesWhere(principal)] } });
}

/**
 * One page of the repositories `principal` may see, in connection order (keyset on creation time and id); the
 * access rule is part of the query, so a page is never short because of it.
 */
export function findRepositoryPage(
  deps: GithubDeps,
  principal: Principal,
  options: { after: { at: Date; id: string } | null; limit: number },
): Promise<Repository[]> {
  const { after } = options;
  const keyset = after
    ? { OR: [{ createdAt: { gt: after.at } }, { createdAt: after.at, id: { gt: after.id } }] }
    : {};
  return deps.prisma.repository.findMany({
    where: { AND: [keyset, readableRepositoriesWhere(principal)] },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: options.limit,
  });
}

/** What the platform may do on a repository, as GitHub says now. */
export interface RepositoryPermissions {
  admin: boolean;
  push: boolean;
  pull: boolean;
}

/**
 * Throws NOT_FOUND unless `principal` may see `repository` (guards the fields that call GitHub with the
 * repository's credential, which for an OAuth repository is its connector's own token).
 */
export function assertReadable(principal: Principal, repository: Repository): Repository {
  if (!mayReadRepository(principal, repository))
    throw codedError(ErrorCode.NOT_FOUND, 'No connected repository has this id.');
  return repository;
}

/** The credential's permissions on `repository`, asked from GitHub. */
export async function repositoryPermissions(
  deps: GithubDeps,
  repository: Repository,
): Promise<RepositoryPermissions> {
  const { client } = await deps.access.clientFor(repository, {
    access: repository.access,
    userId: repository.connectedById,
  });
  try {
    const { data } = await client.rest.repos.get({ owner: repository.owner, repo: repository.name });
    return {
      admin: data.permissions?.admin ?? false,
      push: data.permissions?.push ?? false,
      pull: data.permissions?.pull ?? false,
    };
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
}

/** A branch as GitHub lists it. */
export interface Branch {
  name: string;
  sha: string;
  protected: boolean;
}

/** One page of the repository's branches from GitHub (pages are GitHub's: 1-based page numbers). */
export async function listBranches(
  deps: GithubDeps,
  repository: Repository,
  options: { page: number; perPage: number },
): Promise<{ branches: Branch[]; hasNextPage: boolean }> {
  const { client } = await deps.access.clientFor(repository, {
    access: repository.access,
    userId: repository.connectedById,
  });
  try {
    const response = await client.rest.repos.listBranches({
      owner: repository.owner,
      repo: repository.name,
      per_page: options.perPage,
      page: options.page,
    });
    return {
      branches: response.data.map((b) => ({ name: b.name, sha: b.commit.sha, protected: b.protected })),
      hasNextPage: /rel="next"/.test(response.headers.link ?? ''),
    };
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
}
