import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TaskCompleted } from '@cap/events';
import {
  gitCredentialEnv,
  GithubRepositoryAccess,
  RepositoryGrantError,
  RepositoryTokenClient,
} from '@cap/github-client';
import { toBusRecord } from '@cap/messaging';
import { errorCodes, pullsOf, repositoriesOf, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { pushBranch, taskCompleted } from './taskEvents.js';

const run = promisify(execFile);
let h: GithubHarness;
let work: string;
const developer = userPrincipal('DEVELOPER');

beforeAll(async () => {
  h = await startGithubHarness();
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, developer);
  await h.github.consumerReady;
  work = mkdtempSync(join(tmpdir(), 'cap-github-work-'));
});
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await h?.[Symbol.asyncDispose]();
});

const gitEnv = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Agent',
  GIT_AUTHOR_EMAIL: 'agent@localhost',
  GIT_COMMITTER_NAME: 'Agent',
  GIT_COMMITTER_EMAIL: 'agent@localhost',
};

function completed(taskId: string, attempt: number, branch: string) {
  return TaskCompleted.create(
    {
      taskId,
      executionId: randomUUID(),
      attempt,
      summary: 'Fixed `sum` to add. cc @octocat <script>alert(1)</script>',
      changedFiles: 1,
      pullRequestUrl: null,
      durationMs: 1234,
      repository: 'acme/widgets',
      title: 'Fix the sum',
      branch,
      commitSha: 'a'.repeat(40),
      diffStats: { filesChanged: 1, additions: 1, deletions: 1 },
      verification: { passed: true, command: 'npm test' },
      costUsd: 0.0123,
      model: 'claude-test',
    },
    { source: 'orchestration', aggregateId: taskId },
  );
}

describe('a task on owner/name ends as one pull request', () => {
  it('clones with a short-lived token from the github subgraph, pushes the branch, opens the pull request once', async () => {
    const client = new RepositoryTokenClient({
      baseUrl: h.github.subgraph.url,
      internalTokenSecret: h.secret,
    });
    // The agent's RepositoryAccess port: owner/name through the github subgraph, local paths elsewhere.
    const access = new GithubRepositoryAccess(client, { locate: async (path) => ({ url: path }) });
    expect(await access.locate('/srv/local.git')).toEqual({ url: '/srv/local.git' });
    const location = await access.locate('acme/widgets');
    const grant = { cloneUrl: location.url, ...location.credentials! };
    expect(grant.token).toMatch(/^ghs_/);
    expect(grant.cloneUrl).toBe(`${h.fake.url}/acme/widgets.git`);
    const dir = join(work, 'clone');
    const auth = { ...gitEnv, ...gitCredentialEnv(grant) };
    await run('git', ['clone', '--quiet', '--', grant.cloneUrl, dir], { env: auth });
    // The token lived in the environment of the clone only.
    expect(readFileSync(join(dir, '.git', 'config'), 'utf8')).not.toContain(grant.token);
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    await run('git', ['checkout', '--quiet', '-b', branch], { cwd: dir, env: gitEnv });
    await run('git', ['commit', '--quiet', '--allow-empty', '-m', 'Fix the sum'], { cwd: dir, env: gitEnv });
    await run('git', ['push', '--quiet', grant.cloneUrl, `HEAD:refs/heads/${branch}`], {
      cwd: dir,
      env: auth,
    });
    expect(h.fake.branchesOf('acme', 'widgets').has(branch)).toBe(true);

    // The event, delivered twice (redelivery), then a re-run of the task (attempt 2).
    const first = completed(taskId, 1, branch);
    await h.bus.publish([toBusRecord(first), toBusRecord(first)]);
    await waitFor(async () => (await h.outbox('PullRequestOpened')).length === 1);
    await h.bus.publish([toBusRecord(completed(taskId, 2, branch))]);
    await waitFor(async () => (await h.outbox('PullRequestUpdated')).length === 1);

    const repo = repositoriesOf(h.fake).get('acme/widgets')!;
    const pulls = pullsOf(h.fake, repo);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ head: branch, base: 'main', draft: true, title: 'Fix the sum' });
    expect(pulls[0]!.body).toContain('## Verification');
    expect(pulls[0]!.body).toContain(`http://127.0.0.1:4000/tasks/${taskId}`);
    expect(pulls[0]!.body).not.toContain('<script>');
    expect(pulls[0]!.body).not.toMatch(/@octocat/);
    expect(h.fake.calls.filter((c) => c.route === 'POST /repos/{owner}/{repo}/pulls')).toHaveLength(1);

    // The task's pull request through the entity, then merged from the graph.
    const entity = await h.call(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on CodingTask { pullRequest { id number state checks } } } }`,
      { r: [{ __typename: 'CodingTask', id: taskId }] },
      developer,
    );
    const pr = entity.data?.['_entities'][0].pullRequest;
    expect(pr).toMatchObject({ number: 1, state: 'OPEN' });
    const merged = await h.call(
      'mutation ($id: ID!) { mergePullRequest(id: $id, method: SQUASH) { state } }',
      { id: pr.id },
      developer,
    );
    expect(merged.data?.['mergePullRequest']).toEqual({ state: 'MERGED' });
    expect(
      errorCodes(
        await h.call('mutation ($id: ID!) { mergePullRequest(id: $id) { state } }', { id: pr.id }, developer),
      ),
    ).toEqual(['CONFLICT']);
    expect(await h.outbox('PullRequestMerged')).toHaveLength(1);
    expect(h.fake.violations).toEqual([]);

    // No token in any log line.
    const logs = h.logs.join('\n');
    expect(logs).not.toContain(grant.token);
    for (const [token] of h.fake.tokens) expect(logs).not.toContain(token);
  });

  it('skips tasks on local paths and without a pushed branch; an unconnected repository fails its job', async () => {
    const opened = (await h.outbox('PullRequestOpened')).length;
    const local = TaskCompleted.create(
      { ...completed(randomUUID(), 1, 'x').payload, repository: '/srv/repo' },
      { source: 'orchestration', aggregateId: randomUUID() },
    );
    const other = TaskCompleted.create(
      { ...completed(randomUUID(), 1, 'x').payload, repository: 'someone/else' },
      { source: 'orchestration', aggregateId: randomUUID() },
    );
    const noBranch = TaskCompleted.create(
      { ...completed(randomUUID(), 1, 'x').payload, branch: null },
      { source: 'orchestration', aggregateId: randomUUID() },
    );
    await h.bus.publish([toBusRecord(local), toBusRecord(other), toBusRecord(noBranch)]);
    await waitFor(
      async () =>
        (await h.github.deps.prisma.processedEvent.count({
          where: { eventId: { in: [local.id, other.id, noBranch.id] } },
        })) === 3,
    );
    expect((await h.outbox('PullRequestOpened')).length).toBe(opened);
    const jobs = await h.github.deps.prisma.pullRequestJob.findMany({
      where: { taskId: { in: [local, other, noBranch].map((e) => e.payload.taskId) } },
    });
    expect(jobs.map((j) => j.taskId)).toEqual([other.payload.taskId]);
    await waitFor(
      async () =>
        (await h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId: other.payload.taskId } }))
          ?.status === 'FAILED',
    );
  });

  it("targets the task's base branch (a CI fix's failing branch), on open and on a re-run's update", async () => {
    pushBranch(h.fake, 'feature/x');
    pushBranch(h.fake, 'release/2');
    const taskId = randomUUID();
    const branch = `agent/${taskId.slice(0, 8)}`;
    pushBranch(h.fake, branch);
    const repo = repositoriesOf(h.fake).get('acme/widgets')!;
    const pullOf = () => pullsOf(h.fake, repo).find((pull) => pull.head === branch);
    const opened = (await h.outbox('PullRequestOpened')).length;
    await h.bus.publish([toBusRecord(taskCompleted(taskId, { branch, baseBranch: 'feature/x' }))]);
    await waitFor(async () => (await h.outbox('PullRequestOpened')).length === opened + 1);
    expect(pullOf()).toMatchObject({ base: 'feature/x' });
    expect((await h.outbox('PullRequestOpened')).at(-1)!.payload).toMatchObject({ baseBranch: 'feature/x' });
    // A re-run that names another base moves the pull request there; one without keeps the default branch.
    const updated = (await h.outbox('PullRequestUpdated')).length;
    await h.bus.publish([
      toBusRecord(taskCompleted(taskId, { branch, baseBranch: 'release/2', attempt: 2 })),
    ]);
    await waitFor(async () => (await h.outbox('PullRequestUpdated')).length === updated + 1);
    expect(pullOf()).toMatchObject({ base: 'release/2' });
    const plain = randomUUID();
    pushBranch(h.fake, `agent/${plain.slice(0, 8)}`);
    await h.bus.publish([toBusRecord(taskCompleted(plain, { branch: `agent/${plain.slice(0, 8)}` }))]);
    await waitFor(async () => (await h.outbox('PullRequestOpened')).length === opened + 2);
    expect(pullsOf(h.fake, repo).find((pull) => pull.head === `agent/${plain.slice(0, 8)}`)).toMatchObject({
      base: 'main',
    });
    expect(h.fake.violations).toEqual([]);
  });

  it('hands repository tokens to internal services only, for connected repositories only', async () => {
    const forged = new RepositoryTokenClient({
      baseUrl: h.github.subgraph.url,
      internalTokenSecret: `x${h.secret}`,
    });
    await expect(forged.grant('acme/widgets')).rejects.toMatchObject({ status: 401 });
    const client = new RepositoryTokenClient({
      baseUrl: h.github.subgraph.url,
      internalTokenSecret: h.secret,
    });
    await expect(client.grant('someone/else')).rejects.toMatchObject({ status: 404 });
    for (const hostile of ['', '../../etc/passwd', 'a/b/c', 'acme/..', 'x'.repeat(5_000)]) {
      const error = await client.grant(hostile).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RepositoryGrantError);
      expect([400, 413]).toContain((error as RepositoryGrantError).status);
    }
  });
});
