import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@cap/runtime';
import {
  addFakeRepository,
  addOpenPull,
  createTestDatabase,
  errorCodes,
  githubWebhookDelivery,
  graphql,
  repositoriesOf,
  sampleWebhookPayload,
  startFakeGithub,
  waitFor,
  type FakeGithub,
  type TestDatabase,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPlatform } from '../src/index.js';
import { LOGIN, platformTestEnv, startPlatformAsAdmin } from './support/embeddedPlatform.js';

/**
 * The github subgraph in the one-process platform, as a new user meets it: a personal access token
 * (GITHUB_TOKEN), a repository connected through the router, and GitHub's webhooks posted to the router's own
 * origin (forwarded unchanged to the subgraph, which verifies the signature over the raw bytes).
 */
const WEBHOOK_SECRET = 'router-forwarding-webhook-secret';
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`;
const REPOSITORIES = `{ repositories(first: 100) { edges { node { fullName } } } }`;
const REPOSITORY = `query($n: String!) { repository(owner: "acme", name: $n) { fullName pullRequests { id state } } }`;

describe('GitHub through the router (platform)', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-github-'));
  let fake: FakeGithub;
  let db: TestDatabase;
  let platform: RunningPlatform;
  let auth: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeGithub();
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    db = await createTestDatabase();
    const env = platformTestEnv(dataDir, {
      DATABASE_URL: db.url,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_TOKEN: fake.issueToken({ kind: 'pat', login: 'dev' }),
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      // The pull request poller on its timer (the safety net for lost webhooks).
      GITHUB_PR_POLL_INTERVAL_MS: '500',
    });
    ({ platform, auth } = await startPlatformAsAdmin(
      env,
      createLogger({ service: 'platform-test', level: 'silent' }),
    ));
  });
  afterAll(async () => {
    await platform?.close();
    await fake?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('connects a repository through the router', async () => {
    const result = await graphql(
      `${platform.router.url}/graphql`,
      'mutation { connectRepository(owner: "acme", name: "widgets") { fullName access defaultBranch } }',
      {},
      auth,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.['connectRepository']).toEqual({
      fullName: 'acme/widgets',
      access: 'TOKEN',
      defaultBranch: 'main',
    });
    expect(fake.violations).toEqual([]);
  });

  it('forwards webhook deliveries byte for byte: signed accepted, replay ignored, forged and oversized refused', async () => {
    const delivery = githubWebhookDelivery({
      event: 'push',
      schema: 'push',
      secret: WEBHOOK_SECRET,
      payload: sampleWebhookPayload('push', {
        ref: 'refs/heads/main',
        repository: { name: 'widgets', owner: { login: 'acme' } },
      }),
    });
    const post = (headers: Record<string, string>, body: Buffer<ArrayBuffer> = delivery.body) =>
      fetch(`${platform.router.url}/webhooks/github`, { method: 'POST', headers, body });
    expect((await post(delivery.headers)).status).toBe(202);
    expect((await post(delivery.headers)).status).toBe(200);
    expect(
      (await post({ ...delivery.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })).status,
    ).toBe(401);
    await waitFor(async () => {
      const row = await platform.github.deps.prisma.webhookDelivery.findUnique({
        where: { deliveryId: delivery.id },
      });
      return row?.processedAt != null;
    });
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL('/webhooks/github', platform.router.url);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-length': 30 * 1024 * 1024 },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(413);
  });

  it('forwards the OAuth return: a forged state is refused', async () => {
    const response = await fetch(`${platform.router.url}/oauth/github/callback?code=x&state=forged`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'OAUTH_STATE_INVALID' } });
  });

  /** A user created by the admin and signed in: their id and Authorization header. */
  async function signedInUser(role: 'DEVELOPER' | 'VIEWER') {
    const email = `${role.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
    const created = await graphql(
      `${platform.router.url}/graphql`,
      CREATE_USER,
      { input: { email, password: 'a long test password', displayName: email, role } },
      auth,
    );
    expect(created.errors).toBeUndefined();
    const login = await graphql(`${platform.router.url}/graphql`, LOGIN, {
      e: email,
      p: 'a long test password',
    });
    return {
      id: created.data?.['createUser'].id as string,
      headers: { authorization: `Bearer ${login.data?.['login'].accessToken as string}` },
    };
  }

  /** `acme/<name>` on the fake and connected with `userId`'s own GitHub account, with one open task pull request. */
  async function oauthRepository(name: string, userId: string) {
    const fakeRepo = addFakeRepository(fake, { owner: 'acme', name });
    addOpenPull(fake, fakeRepo, { id: 8100, number: 1, title: 'Private work' });
    const { prisma, cipher } = platform.github.deps;
    const token = fake.issueToken({ kind: 'oauth', login: 'alice' }, 'gho_');
    await prisma.userCredential.create({
      data: { userId, login: 'alice', sealed: cipher.seal(token, userId), scopes: 'repo' },
    });
    const repository = await prisma.repository.create({
      data: {
        githubId: BigInt(fakeRepo.id),
        owner: 'acme',
        name,
        fullNameKey: `acme/${name}`,
        defaultBranch: 'main',
        visibility: 'PRIVATE',
        access: 'OAUTH',
        connectedById: userId,
        htmlUrl: `${fake.url}/acme/${name}`,
        cloneUrl: `${fake.url}/acme/${name}.git`,
      },
    });
    return prisma.pullRequest.create({
      data: {
        repositoryId: repository.id,
        number: 1,
        taskId: randomUUID(),
        title: 'Private work',
        url: `${fake.url}/acme/${name}/pull/1`,
        state: 'OPEN',
        draft: false,
        headBranch: 'main',
        baseBranch: 'main',
      },
    });
  }

  it('applies the repository access rule through the router: an OAuth repository exists for its connector and admins only', async () => {
    const alice = await signedInUser('DEVELOPER');
    const bob = await signedInUser('DEVELOPER');
    const carol = await signedInUser('VIEWER');
    const key = await graphql(
      `${platform.router.url}/graphql`,
      CREATE_KEY,
      { input: { name: 'repos', scopes: ['repos:read', 'repos:write'] } },
      alice.headers,
    );
    expect(key.errors).toBeUndefined();
    const aliceKey = { 'x-api-key': key.data?.['createApiKey'].secret as string };
    const name = `private-${randomUUID().slice(0, 8)}`;
    const pr = await oauthRepository(name, alice.id);
    const callers = [
      { who: 'admin', headers: auth, sees: true },
      { who: 'alice', headers: alice.headers, sees: true },
      { who: 'alice’s API key', headers: aliceKey, sees: true },
      { who: 'bob', headers: bob.headers, sees: false },
      { who: 'carol (viewer)', headers: carol.headers, sees: false },
    ];
    const url = `${platform.router.url}/graphql`;
    for (const { who, headers, sees } of callers) {
      const list = await graphql(url, REPOSITORIES, {}, headers);
      expect(list.errors, who).toBeUndefined();
      const names = list.data?.['repositories'].edges.map(
        (e: { node: { fullName: string } }) => e.node.fullName,
      );
      expect(names, who).toContain('acme/widgets');
      expect(names.includes(`acme/${name}`), who).toBe(sees);
      const one = await graphql(url, REPOSITORY, { n: name }, headers);
      expect(one.errors, who).toBeUndefined();
      expect(one.data?.['repository'], who).toEqual(
        sees ? { fullName: `acme/${name}`, pullRequests: [{ id: pr.id, state: 'OPEN' }] } : null,
      );
    }
    const anonymous = await graphql(url, REPOSITORIES, {}, {});
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    // Bob cannot act on it either (NOT_FOUND: its existence is not told), and GitHub is not asked.
    // Writes only: the poller keeps reading open pull requests on its timer meanwhile.
    const writes = () =>
      fake.calls.filter((c) => !c.route.startsWith('GET ') && !c.route.includes('/access_tokens')).length;
    const calls = writes();
    const close = `mutation($id: ID!) { closePullRequest(id: $id) { state } }`;
    expect(errorCodes(await graphql(url, close, { id: pr.id }, bob.headers))).toEqual(['NOT_FOUND']);
    const disconnect = `mutation($id: ID!) { disconnectRepository(id: $id) { fullName } }`;
    expect(errorCodes(await graphql(url, disconnect, { id: pr.repositoryId }, bob.headers))).toEqual([
      'NOT_FOUND',
    ]);
    expect(writes()).toBe(calls);
    // Alice closes it, with her own GitHub token.
    const closed = await graphql(url, close, { id: pr.id }, alice.headers);
    expect(closed.errors).toBeUndefined();
    expect(closed.data?.['closePullRequest']).toEqual({ state: 'CLOSED' });
    expect(fake.violations).toEqual([]);
  });

  it('polls the open pull requests it opened: a merge whose webhook was lost shows through the router', async () => {
    const { prisma } = platform.github.deps;
    const repository = await prisma.repository.findUniqueOrThrow({ where: { fullNameKey: 'acme/widgets' } });
    const pull = addOpenPull(fake, repositoriesOf(fake).get('acme/widgets')!, {
      id: 8200,
      number: 7,
      title: 'A task',
    });
    const pr = await prisma.pullRequest.create({
      data: {
        repositoryId: repository.id,
        number: 7,
        taskId: randomUUID(),
        title: 'A task',
        url: `${fake.url}/acme/widgets/pull/7`,
        state: 'OPEN',
        draft: false,
        headBranch: 'main',
        baseBranch: 'main',
      },
    });
    // Merged on GitHub; the webhook delivery never arrives.
    Object.assign(pull, { state: 'closed', merged: true });
    await waitFor(
      async () => {
        const read = await graphql(`${platform.router.url}/graphql`, REPOSITORY, { n: 'widgets' }, auth);
        return read.data?.['repository'].pullRequests.some(
          (p: { id: string; state: string }) => p.id === pr.id && p.state === 'MERGED',
        );
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'the merge polled from GitHub' },
    );
    const merged = (await prisma.outboxEvent.findMany({ where: { type: 'PullRequestMerged' } })).filter(
      (row) => (row.payload as { payload: { pullRequestId: string } }).payload.pullRequestId === pr.id,
    );
    expect(merged).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });
});
