import { randomUUID } from 'node:crypto';
import { scopesForRole, type Principal, type Role } from '@cap/runtime';
import { addFakeRepository, addOpenPull, repositoriesOf } from '@cap/testkit';
import type { RepositoryAccess } from '../src/generated/prisma/client.js';
import type { GithubHarness } from './harness.js';

/** A repository seeded for the access tests, with one task pull request (open on GitHub too). */
export interface SeededRepository {
  id: string;
  name: string;
  access: RepositoryAccess;
  connectedById: string | null;
  pullRequestId: string;
  taskId: string;
  /** A task whose pull-request job failed before a pull request existed. */
  jobOnlyTaskId: string;
}

/** Generated principals: every role as a user and as an API key, for each of `userIds`, and anonymous. */
export function generatedPrincipals(userIds: readonly string[]): Principal[] {
  const roles: Role[] = ['VIEWER', 'DEVELOPER', 'ADMIN'];
  const principals: Principal[] = [{ kind: 'anonymous' }];
  for (const userId of userIds)
    for (const role of roles) {
      const scopes = scopesForRole(role);
      principals.push({ kind: 'user', userId, role, scopes });
      principals.push({ kind: 'apiKey', userId, apiKeyId: randomUUID(), role, scopes, tier: 'FREE' });
    }
  return principals;
}

/** The rule, written out independently of the code under test. */
export function expectedVisible(principal: Principal, repository: SeededRepository): boolean {
  if (principal.kind === 'anonymous') return false;
  if (repository.access !== 'OAUTH') return true;
  return principal.role === 'ADMIN' || principal.userId === repository.connectedById;
}

/** Stores `userId`'s GitHub OAuth token (as the OAuth callback would), issued by the fake. */
export async function connectGithubAccount(h: GithubHarness, userId: string): Promise<void> {
  const token = h.fake.issueToken({ kind: 'oauth', login: `user-${userId.slice(0, 8)}` }, 'gho_');
  await h.github.deps.prisma.userCredential.create({
    data: {
      userId,
      login: `user-${userId.slice(0, 8)}`,
      sealed: h.github.deps.cipher.seal(token, userId),
      scopes: 'repo',
    },
  });
}

/**
 * Seeds `acme/<name>` on the fake GitHub (App installation 77) and connected with `access` by `connectedById`, with
 * one open task pull request on both sides and a failed job of another task.
 */
export async function seedRepository(
  h: GithubHarness,
  input: { name: string; access: RepositoryAccess; connectedById: string | null },
): Promise<SeededRepository> {
  const fakeRepo = addFakeRepository(h.fake, { owner: 'acme', name: input.name, installationId: 77 });
  addOpenPull(h.fake, fakeRepo, {
    id: 9000 + repositoriesOf(h.fake).size,
    number: 1,
    title: `Work on ${input.name}`,
  });
  const { prisma } = h.github.deps;
  const repository = await prisma.repository.create({
    data: {
      githubId: BigInt(fakeRepo.id),
      owner: 'acme',
      name: input.name,
      fullNameKey: `acme/${input.name}`.toLowerCase(),
      defaultBranch: 'main',
      visibility: 'PRIVATE',
      access: input.access,
      connectedById: input.connectedById,
      htmlUrl: `${h.fake.url}/acme/${input.name}`,
      cloneUrl: `${h.fake.url}/acme/${input.name}.git`,
    },
  });
  const taskId = randomUUID();
  const pr = await prisma.pullRequest.create({
    data: {
      repositoryId: repository.id,
      number: 1,
      taskId,
      title: `Work on ${input.name}`,
      url: `${h.fake.url}/acme/${input.name}/pull/1`,
      state: 'OPEN',
      draft: false,
      headBranch: 'main',
      baseBranch: 'main',
    },
  });
  const jobOnlyTaskId = randomUUID();
  await prisma.pullRequestJob.create({
    data: {
      taskId: jobOnlyTaskId,
      taskAttempt: 1,
      payload: { taskId: jobOnlyTaskId, repository: `acme/${input.name}`, branch: 'cap/x' },
      status: 'FAILED',
      lastError: `GitHub refused acme/${input.name}`,
    },
  });
  return {
    id: repository.id,
    name: input.name,
    access: input.access,
    connectedById: input.connectedById,
    pullRequestId: pr.id,
    taskId,
    jobOnlyTaskId,
  };
}

export const ENTITIES = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Repository {
        fullName
        pullRequests {
          id
        }
      }
      ... on PullRequest {
        number
        repository {
          fullName
        }
      }
      ... on CodingTask {
        pullRequest {
          id
        }
        pullRequestJob {
          status
        }
      }
    }
  }
`;
