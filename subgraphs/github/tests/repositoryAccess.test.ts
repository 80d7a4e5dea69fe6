import { randomUUID } from 'node:crypto';
import type { Principal } from '@cap/runtime';
import { RepositoryGrantError, RepositoryTokenClient } from '@cap/github-client';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectGithubAccount,
  ENTITIES,
  expectedVisible,
  generatedPrincipals,
  seedRepository,
  type SeededRepository,
} from './accessFixtures.js';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';

/**
 * The access rule of repositories (`mayReadRepository`): one connected with a user's own GitHub account exists
 * for that user and admins only, wherever it or its data is read or acted on. Generated principals (three users,
 * every role, as users and API keys, anonymous) × repositories of each access kind.
 */
let h: GithubHarness;
const users = [randomUUID(), randomUUID(), randomUUID()] as const;
const principals = generatedPrincipals(users);
let repositories: SeededRepository[] = [];

const describePrincipal = (p: Principal) =>
  p.kind === 'anonymous' ? 'anonymous' : `${p.kind} ${p.role} ${users.indexOf(p.userId as never)}`;

beforeAll(async () => {
  h = await startGithubHarness();
  for (const userId of users) await connectGithubAccount(h, userId);
  const kinds = [
    { access: 'APP', connectedById: users[0] },
    { access: 'TOKEN', connectedById: null },
    { access: 'OAUTH', connectedById: users[0] },
    { access: 'OAUTH', connectedById: users[1] },
    { access: 'OAUTH', connectedById: users[2] },
    { access: 'APP', connectedById: null },
  ] as const;
  for (const [index, kind] of kinds.entries())
    repositories.push(await seedRepository(h, { name: `repo-${index}`, ...kind }));
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('the repository access rule, everywhere a repository is read', { timeout: 180_000 }, () => {
  it('repositories lists exactly the visible ones, in full pages with working cursors', async () => {
    for (const principal of principals) {
      const expected = repositories.filter((r) => expectedVisible(principal, r)).map((r) => `acme/${r.name}`);
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        type Page = {
          repositories: {
            edges: Array<{ node: { fullName: string } }>;
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        };
        const result: { data?: Page | null; errors?: unknown } & Parameters<typeof errorCodes>[0] =
          await h.call<Page>(
            'query ($after: String) { repositories(first: 2, after: $after) { edges { node { fullName } } pageInfo { hasNextPage endCursor } } }',
            { after },
            principal,
          );
        if (principal.kind === 'anonymous') {
          expect(errorCodes(result)).toEqual(['UNAUTHENTICATED']);
          break;
        }
        expect(result.errors, describePrincipal(principal)).toBeUndefined();
        const connection: Page['repositories'] = result.data!.repositories;
        const names = connection.edges.map((e) => e.node.fullName);
        // The rule is in the query: a page is short only at the end.
        if (connection.pageInfo.hasNextPage) expect(names).toHaveLength(2);
        seen.push(...names);
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      if (principal.kind !== 'anonymous') expect(seen, describePrincipal(principal)).toEqual(expected);
    }
  });

  it('repository(owner, name), entities, task pull requests and jobs: null for what the rule hides', async () => {
    const byName = `{ ${repositories.map((r, i) => `r${i}: repository(owner: "acme", name: "${r.name}") { fullName }`).join(' ')} }`;
    const representations = repositories.flatMap((repo) => [
      { __typename: 'Repository', id: repo.id },
      { __typename: 'PullRequest', id: repo.pullRequestId },
      { __typename: 'CodingTask', id: repo.taskId },
      { __typename: 'CodingTask', id: repo.jobOnlyTaskId },
    ]);
    for (const principal of principals) {
      const names = await h.call(byName, {}, principal);
      const entities = await h.call(ENTITIES, { r: representations }, principal);
      if (principal.kind === 'anonymous') {
        expect(errorCodes(names)).toContain('UNAUTHENTICATED');
        expect(errorCodes(entities)).toContain('UNAUTHENTICATED');
      }
      const found = entities.data?.['_entities'] ?? [];
      for (const [index, repo] of repositories.entries()) {
        const visible = expectedVisible(principal, repo);
        const label = `${describePrincipal(principal)} on ${repo.access} ${repo.name}`;
        const [repository, pullRequest, task, jobTask] = found.slice(index * 4, index * 4 + 4);
        expect(repository, label).toEqual(
          visible ? { fullName: `acme/${repo.name}`, pullRequests: [{ id: repo.pullRequestId }] } : null,
        );
        expect(pullRequest, label).toEqual(
          visible ? { number: 1, repository: { fullName: `acme/${repo.name}` } } : null,
        );
        if (principal.kind === 'anonymous') {
          // The query and the task fields need repos:read: refused with a code, nothing shown.
          expect(names.data?.[`r${index}`] ?? null).toBeNull();
          expect(task?.pullRequest ?? null).toBeNull();
          expect(jobTask?.pullRequestJob ?? null).toBeNull();
          continue;
        }
        expect(names.data?.[`r${index}`], label).toEqual(visible ? { fullName: `acme/${repo.name}` } : null);
        expect(task, label).toEqual({
          pullRequest: visible ? { id: repo.pullRequestId } : null,
          pullRequestJob: null,
        });
        expect(jobTask, label).toEqual({
          pullRequest: null,
          pullRequestJob: visible ? { status: 'FAILED' } : null,
        });
      }
    }
  });

  it('branches and permissions are asked from GitHub only for a visible repository', async () => {
    const oauthRepo = repositories.find((r) => r.access === 'OAUTH' && r.connectedById === users[1])!;
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Repository { branches(first: 5) { edges { node { name } } } permissions { pull } } } }`;
    const before = h.fake.calls.length;
    const stranger = userPrincipal('DEVELOPER', users[0]);
    const hidden = await h.call(query, { r: [{ __typename: 'Repository', id: oauthRepo.id }] }, stranger);
    expect(hidden.data?.['_entities']).toEqual([null]);
    expect(h.fake.calls.length).toBe(before);
    const owner = userPrincipal('VIEWER', users[1]);
    const shown = await h.call(query, { r: [{ __typename: 'Repository', id: oauthRepo.id }] }, owner);
    expect(shown.errors).toBeUndefined();
    expect(shown.data?.['_entities'][0].branches.edges).toEqual([{ node: { name: 'main' } }]);
    expect(h.fake.violations).toEqual([]);
  });
});

describe('the access rule on mutations', { timeout: 180_000 }, () => {
  const MUTATIONS = {
    close: 'mutation ($id: ID!) { closePullRequest(id: $id) { state } }',
    reopen: 'mutation ($id: ID!) { reopenPullRequest(id: $id) { state } }',
    merge: 'mutation ($id: ID!) { mergePullRequest(id: $id) { state } }',
    disconnect: 'mutation ($id: ID!) { disconnectRepository(id: $id) { fullName } }',
  };

  it('merge, close, reopen and disconnect of a hidden repository are NOT_FOUND, and GitHub is not called', async () => {
    const writers = principals.filter((p) => p.kind !== 'anonymous' && p.role !== 'VIEWER');
    for (const principal of writers) {
      for (const repo of repositories.filter((r) => !expectedVisible(principal, r))) {
        const before = h.fake.calls.length;
        for (const [name, mutation] of Object.entries(MUTATIONS)) {
          const id = name === 'disconnect' ? repo.id : repo.pullRequestId;
          const result = await h.call(mutation, { id }, principal);
          expect(errorCodes(result), `${describePrincipal(principal)} ${name} ${repo.name}`).toEqual([
            'NOT_FOUND',
          ]);
        }
        expect(h.fake.calls.length).toBe(before);
      }
    }
    for (const repo of repositories) {
      const stored = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({
        where: { id: repo.pullRequestId },
      });
      expect(stored.state).toBe('OPEN');
    }
    expect(await h.outbox('RepositoryDisconnected')).toEqual([]);
  });

  it('anonymous and read-only callers are refused with codes; malformed ids are BAD_USER_INPUT', async () => {
    const repo = repositories[0]!;
    expect(errorCodes(await h.call(MUTATIONS.close, { id: repo.pullRequestId }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(
      errorCodes(await h.call(MUTATIONS.close, { id: repo.pullRequestId }, userPrincipal('VIEWER'))),
    ).toEqual(['FORBIDDEN']);
    for (const id of ['', 'x', `${repo.pullRequestId}'--`, 'a'.repeat(10_000)])
      expect(errorCodes(await h.call(MUTATIONS.merge, { id }, userPrincipal('ADMIN')))).toEqual([
        'BAD_USER_INPUT',
      ]);
  });

  it('the connector and admins act on an OAuth repository (with the connector’s token); others cannot take it over', async () => {
    const repo = repositories.find((r) => r.access === 'OAUTH' && r.connectedById === users[2])!;
    const connector = userPrincipal('DEVELOPER', users[2]);
    const closed = await h.call(MUTATIONS.close, { id: repo.pullRequestId }, connector);
    expect(closed.errors).toBeUndefined();
    expect(closed.data?.['closePullRequest']).toEqual({ state: 'CLOSED' });
    const admin = userPrincipal('ADMIN');
    const reopened = await h.call(MUTATIONS.reopen, { id: repo.pullRequestId }, admin);
    expect(reopened.data?.['reopenPullRequest']).toEqual({ state: 'OPEN' });
    expect(await h.outbox('PullRequestClosed')).toHaveLength(1);

    // Another developer reaches acme/<name> through the App, but it stays the connector's.
    const other = userPrincipal('DEVELOPER', users[0]);
    const takeover = await h.call(CONNECT, { owner: 'acme', name: repo.name }, other);
    expect(errorCodes(takeover)).toEqual(['CONFLICT']);
    const stored = await h.github.deps.prisma.repository.findUniqueOrThrow({ where: { id: repo.id } });
    expect(stored).toMatchObject({ access: 'OAUTH', connectedById: users[2] });

    const disconnected = await h.call(MUTATIONS.disconnect, { id: repo.id }, connector);
    expect(disconnected.data?.['disconnectRepository']).toEqual({ fullName: `acme/${repo.name}` });
    repositories = repositories.filter((r) => r !== repo);
    expect(h.fake.violations).toEqual([]);
  });

  it('hands an OAuth-connected repository’s credential only for its connector’s tasks (the internal token route)', async () => {
    const client = new RepositoryTokenClient({
      baseUrl: h.github.subgraph.url,
      internalTokenSecret: h.secret,
    });
    // The harness has no GITHUB_TOKEN: TOKEN repositories have no credential to hand out to anyone.
    for (const repository of repositories.filter((r) => r.access !== 'TOKEN')) {
      const name = `acme/${repository.name}`;
      for (const onBehalfOf of [...users, randomUUID()]) {
        const allowed = repository.access !== 'OAUTH' || onBehalfOf === repository.connectedById;
        const outcome = await client.grant(name, { onBehalfOf }).then(
          (grant) => grant.repository,
          (error: unknown) => error,
        );
        if (allowed) expect(outcome, `${name} for ${onBehalfOf}`).toBe(name);
        else expect(outcome).toMatchObject({ status: 403, code: 'REPOSITORY_ACCESS_DENIED' });
      }
      // The platform's own monitoring reads (no task, no user) keep working.
      expect((await client.grant(name)).repository).toBe(name);
    }
    const oauth = repositories.find((r) => r.access === 'OAUTH')!;
    for (const onBehalfOf of ['not-a-uuid', 'x'.repeat(5_000), `${oauth.connectedById}\u0000`]) {
      const error = await client.grant(`acme/${oauth.name}`, { onBehalfOf }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RepositoryGrantError);
      expect([400, 413]).toContain((error as RepositoryGrantError).status);
    }
  });
});
