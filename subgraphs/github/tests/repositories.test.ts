import { randomUUID } from 'node:crypto';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';

let h: GithubHarness;
const developer = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  h = await startGithubHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('connecting repositories', () => {
  it('connects through the App installation, once (a second connect refreshes, no second event)', async () => {
    const first = await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, developer);
    expect(first.errors).toBeUndefined();
    expect(first.data?.['connectRepository']).toMatchObject({
      fullName: 'acme/widgets',
      defaultBranch: 'main',
      visibility: 'PRIVATE',
      access: 'APP',
    });
    const again = await h.call(CONNECT, { owner: 'ACME', name: 'Widgets' }, developer);
    expect(again.data?.['connectRepository']['id']).toBe(first.data?.['connectRepository']['id']);
    expect(await h.outbox('RepositoryConnected')).toHaveLength(1);
    expect(h.fake.violations).toEqual([]);
  });

  it('reads it back with permissions and paged branches (from GitHub)', async () => {
    for (const branch of ['a', 'b', 'c']) {
      const { execFileSync } = await import('node:child_process');
      const dir = `${h.fake.gitRoot}/acme/widgets.git`;
      execFileSync('git', ['branch', branch, 'main'], {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
        },
      });
    }
    const query = /* GraphQL */ `
      query ($after: String) {
        repository(owner: "acme", name: "widgets") {
          permissions {
            push
            pull
          }
          branches(first: 2, after: $after) {
            edges {
              node {
                name
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      }
    `;
    const page1 = await h.call(query, {}, viewer);
    expect(page1.errors).toBeUndefined();
    const repo = page1.data?.['repository'];
    expect(repo.permissions).toEqual({ push: true, pull: true });
    expect(repo.branches.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['a', 'b']);
    expect(repo.branches.pageInfo.hasNextPage).toBe(true);
    const page2 = await h.call(query, { after: repo.branches.pageInfo.endCursor }, viewer);
    expect(
      page2.data?.['repository'].branches.edges.map((e: { node: { name: string } }) => e.node.name),
    ).toEqual(['c', 'main']);
    const list = await h.call('{ repositories(first: 10) { edges { node { fullName } } } }', {}, viewer);
    expect(list.data?.['repositories'].edges).toEqual([{ node: { fullName: 'acme/widgets' } }]);
    expect(h.fake.violations).toEqual([]);
  });

  it('refuses callers without repos:write, and tells when no credential reaches a repository', async () => {
    const denied = await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, viewer);
    expect(errorCodes(denied)).toEqual(['FORBIDDEN']);
    h.fake.createBareRepository('other', 'thing');
    const { addFakeRepository } = await import('@cap/testkit');
    addFakeRepository(h.fake, { owner: 'other', name: 'lonely', installationId: null });
    const notInstalled = await h.call(CONNECT, { owner: 'other', name: 'lonely' }, developer);
    expect(errorCodes(notInstalled)).toEqual(['GITHUB_NOT_CONFIGURED']);
    expect(notInstalled.errors?.[0]?.extensions?.['fix']).toMatch(/GITHUB_APP_ID/);
  });

  it('waits out a secondary rate limit, and GitHub failures reach the client coded, without a token', async () => {
    h.fake.failNext('GET /repos/{owner}/{repo}', {
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
    });
    const limited = await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, developer);
    expect(limited.errors).toBeUndefined();
    expect(h.logs.some((line) => line.includes('GitHub rate limit hit'))).toBe(true);
    h.fake.failNext('GET /repos/{owner}/{repo}', { status: 502, body: { message: 'Bad gateway' } }, 4);
    const failed = await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, developer);
    expect(errorCodes(failed)).toEqual(['GITHUB_UNAVAILABLE']);
    expect(failed.errors?.[0]?.extensions?.['status']).toBe(502);
    const everything = JSON.stringify(failed) + h.logs.join('\n');
    for (const [token] of h.fake.tokens) expect(everything).not.toContain(token);
    expect(everything).not.toContain('BEGIN PRIVATE KEY');
  }, 60_000);

  it('refuses malformed owners and names before any request (generated)', async () => {
    const calls = h.fake.calls.length;
    const bad = [
      ['', 'x'],
      ['-acme', 'x'],
      ['acme--x', 'x'],
      ['a'.repeat(40), 'x'],
      ['acme', ''],
      ['acme', '..'],
      ['acme', '.'],
      ['acme', 'a/b'],
      ['acme', 'a b'],
      ['acme', 'x'.repeat(101)],
      ['ac/me', 'x'],
      ['acme', '%2e%2e'],
      ['acme', 'name\u0000'],
    ];
    for (let i = 0; i < 40; i += 1) bad.push(['acme', `${randomUUID()}${'/?#'[i % 3]}`]);
    for (const [owner, name] of bad) {
      const result = await h.call(CONNECT, { owner, name }, developer);
      expect(errorCodes(result), `${owner}/${name}`).toEqual(['BAD_USER_INPUT']);
    }
    expect(h.fake.calls.length).toBe(calls);
  });

  it('disconnects, once', async () => {
    const list = await h.call('{ repository(owner: "acme", name: "widgets") { id } }', {}, viewer);
    const id = list.data?.['repository'].id as string;
    const mutation = 'mutation ($id: ID!) { disconnectRepository(id: $id) { fullName } }';
    expect((await h.call(mutation, { id }, developer)).data?.['disconnectRepository']).toEqual({
      fullName: 'acme/widgets',
    });
    expect(errorCodes(await h.call(mutation, { id }, developer))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await h.call(mutation, { id: 'not-a-uuid' }, developer))).toEqual(['BAD_USER_INPUT']);
    expect(await h.outbox('RepositoryDisconnected')).toHaveLength(1);
  });
});

describe('OAuth', () => {
  const AUTHORIZE = 'mutation { githubAuthorizeUrl { url expiresAt } }';
  const callback = (query: string) => fetch(`${h.github.subgraph.url}/oauth/github/callback?${query}`);

  it('binds the state to the user, exchanges the code once, and stores the token sealed', async () => {
    const user = userPrincipal('DEVELOPER');
    const started = await h.call(AUTHORIZE, {}, user);
    const url = new URL(started.data?.['githubAuthorizeUrl'].url as string);
    expect(url.origin).toBe(h.fake.url);
    expect(url.searchParams.get('client_id')).toBe(h.fake.oauth.clientId);
    const state = url.searchParams.get('state')!;
    const token = h.fake.issueToken({ kind: 'oauth', login: 'octo-user' }, 'gho_');
    h.fake.oauthCodes.set('code-1', token);
    const response = await callback(`code=code-1&state=${state}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ connected: 'octo-user' });
    const row = await h.github.deps.prisma.userCredential.findUniqueOrThrow({
      where: { userId: user.userId },
    });
    expect(row.sealed).not.toContain(token);
    expect(h.github.deps.cipher.open(row.sealed, user.userId)).toBe(token);
    // The same state again (a replay) is refused.
    h.fake.oauthCodes.set('code-2', token);
    const replay = await callback(`code=code-2&state=${state}`);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: { code: 'OAUTH_STATE_INVALID' } });
    expect(h.logs.join('\n')).not.toContain(token);
  });

  it('refuses forged and expired states', async () => {
    const forged = await callback(`code=x&state=${randomUUID()}`);
    expect(forged.status).toBe(400);
    const user = userPrincipal('DEVELOPER');
    const started = await h.call(AUTHORIZE, {}, user);
    const state = new URL(started.data?.['githubAuthorizeUrl'].url as string).searchParams.get('state')!;
    await h.github.deps.prisma.oAuthState.updateMany({ data: { expiresAt: new Date(Date.now() - 1_000) } });
    const expired = await callback(`code=x&state=${state}`);
    expect(expired.status).toBe(400);
    expect(await expired.json()).toMatchObject({ error: { code: 'OAUTH_STATE_INVALID' } });
    expect((await callback('state=only')).status).toBe(400);
    expect((await callback(`code=x&state=${'s'.repeat(500)}`)).status).toBe(400);
  });

  it('is for signed-in users only', async () => {
    expect(errorCodes(await h.call(AUTHORIZE, {}, userPrincipal('VIEWER')))).toEqual(['FORBIDDEN']);
  });
});
