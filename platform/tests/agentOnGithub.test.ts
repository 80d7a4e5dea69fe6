import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { GithubRepositories } from '@cap/orchestration';
import { createLogger } from '@cap/runtime';
import {
  addFakeRepository,
  createFixture,
  createTestDatabase,
  FakeModelServer,
  git,
  graphql,
  pullsOf,
  repositoriesOf,
  reviewsOf,
  startFakeGithub,
  waitFor,
  type FakeGithub,
  type Fixture,
  type TestDatabase,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPlatform } from '../src/index.js';
import { platformTestEnv, startPlatformAsAdmin } from './support/embeddedPlatform.js';

/**
 * A task on a GitHub repository, end to end in the one-process platform (real PostgreSQL, the in-memory bus): the
 * fake GitHub (REST checked against GitHub's OpenAPI description, git over `git http-backend` behind token
 * authentication) holds `acme/widgets`, where the GitHub App is installed, with a failing test; orchestration
 * clones it on the host with an installation token the github subgraph grants, the agent (a scripted model) asks a question, then on its second attempt fixes the test;
 * its branch is published from the host twice, and the github subgraph opens one pull request, read back through
 * the router, with the agent's own review (its verification in the summary, its note as a line comment). No token ever reaches a log line, a task log, a workspace's `.git/config` or the sandbox.
 */

const INTERNAL_TOKEN_SECRET = 'internal-secret-of-the-github-agent-test-0123456789';
const CREATE_TASK = `mutation($input: CreateTaskInput!) { createTask(input: $input) { id status } }`;
const ANSWER = `mutation($id: ID!, $a: String!) { provideTaskInput(input: { taskId: $id, answer: $a }) { id } }`;
const TASK = `query($id: ID!) {
  task(id: $id) {
    status
    result { summary branch commitSha error { code message cause } }
    pullRequest { number url state headBranch baseBranch taskId }
  }
}`;
const NOTE = 'Adds instead of subtracting: the test expects sum(2, 3) to be 5.';
const TASK_LOGS = `query($id: ID!) { taskLogs(taskId: $id, first: 500) { edges { node { kind message data } } } }`;

/** Every `.git/config`-like file under the workspace root while an execution is live. */
function gitConfigsUnder(root: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith('cap-task-')) continue;
    for (const path of [
      join(root, entry, 'workspace', '.git', 'config'),
      join(root, entry, 'remote.git', 'config'),
    ])
      found.push(readFileSync(path, 'utf8'));
  }
  return found;
}

describe('the agent on a GitHub repository (platform)', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-agent-github-'));
  // Task sandboxes of a root worker run as another user, which must be able to reach WORKSPACE_ROOT (search only).
  chmodSync(dataDir, 0o711);
  const logLines: string[] = [];
  let fake: FakeGithub;
  let fixture: Fixture;
  let db: TestDatabase;
  let server: FakeModelServer;
  let platform: RunningPlatform;
  let url: string;
  let auth: Record<string, string>;
  /** Every token the fake GitHub issued (installation tokens minted for the App). */
  const tokens = (): string[] => [...fake.tokens.keys()];
  const configsSeen: string[] = [];

  beforeAll(async () => {
    fake = await startFakeGithub();
    // The App is installed on acme/widgets only.
    addFakeRepository(fake, { owner: 'acme', name: 'widgets', installationId: 7 });
    addFakeRepository(fake, { owner: 'acme', name: 'gadgets' });
    // acme/widgets on the fake GitHub becomes the fixture's Node project with its failing test.
    fixture = createFixture();
    git(fixture.origin, 'push', '--quiet', '--force', join(fake.gitRoot, 'acme', 'widgets.git'), 'main:main');
    server = await FakeModelServer.start('openai', [
      // First attempt: look at what the sandbox sees of git and the environment, then ask.
      { toolCalls: [{ name: 'run_command', arguments: { command: 'cat .git/config; git remote -v; env' } }] },
      () => {
        configsSeen.push(...gitConfigsUnder(dataDir));
        return { toolCalls: [{ name: 'ask_user', arguments: { question: 'Should sum() add?' } }] };
      },
      // Second attempt (the answer appended): fix, verify, finish.
      {
        toolCalls: [
          {
            name: 'edit_file',
            arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a + b;' },
          },
        ],
      },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'node --test' } }] },
      // Its own review: a note on the changed line (it becomes a line comment of the pull request's review).
      { toolCalls: [{ name: 'add_review_note', arguments: { path: 'src/sum.js', line: 2, body: NOTE } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Fix sum() to add its arguments' } }] },
    ]);
    db = await createTestDatabase();
    const env = platformTestEnv(dataDir, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'debug',
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: 'sk-test-github-agent-5c1e9a',
      AGENT_MODEL: 'gpt-4.1-mini',
      INTERNAL_TOKEN_SECRET,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_APP_ID: String(fake.app.id),
      GITHUB_APP_PRIVATE_KEY: fake.app.privateKey,
    });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    const logger = createLogger({ service: 'platform-test', level: 'debug', destination });
    ({ platform, url, auth } = await startPlatformAsAdmin(env, logger));
    const connected = await graphql(
      url,
      'mutation { connectRepository(owner: "acme", name: "widgets") { fullName } }',
      {},
      auth,
    );
    expect(connected.errors).toBeUndefined();
  }, 180_000);

  afterAll(async () => {
    await platform?.close();
    await server?.close();
    await fake?.close();
    await db?.drop();
    fixture?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function taskUntil(id: string, statuses: string[]): Promise<any> {
    return waitFor(
      async () => {
        const result = await graphql(url, TASK, { id }, auth);
        expect(result.errors).toBeUndefined();
        const task = result.data!['task'];
        return statuses.includes(task.status) ? task : undefined;
      },
      { message: `the task to reach ${statuses.join('/')}`, timeoutMs: 90_000, intervalMs: 200 },
    );
  }

  it('clones owner/name with a granted token, pushes agent/<id> twice, and ends as one pull request', async () => {
    const created = await graphql(
      url,
      CREATE_TASK,
      { input: { title: 'Make the tests pass', repository: 'acme/widgets' } },
      auth,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!['createTask'].id as string;
    const branch = `agent/${id.replaceAll('-', '').slice(0, 8)}`;

    const waiting = await taskUntil(id, ['AWAITING_INPUT', 'FAILED', 'SUCCEEDED']);
    expect(waiting.result?.error ?? null).toBeNull();
    expect(waiting.status).toBe('AWAITING_INPUT');
    // The first attempt's work is on GitHub already (published from the host), and no pull request yet.
    const main = fake.branchesOf('acme', 'widgets').get('main');
    expect(fake.branchesOf('acme', 'widgets').get(branch)).toBe(main);

    const answered = await graphql(url, ANSWER, { id, a: 'Yes, it should add.' }, auth);
    expect(answered.errors).toBeUndefined();
    const done = await taskUntil(id, ['SUCCEEDED', 'FAILED']);
    expect(done.result.error).toBeNull();
    expect(done.status).toBe('SUCCEEDED');
    server.assertDone();
    // The second attempt continued the pushed branch and updated it (lease on the first push).
    const head = fake.branchesOf('acme', 'widgets').get(branch);
    expect(done.result).toMatchObject({ branch, commitSha: head });
    expect(head).not.toBe(main);

    const task = await waitFor(
      async () => {
        const result = await graphql(url, TASK, { id }, auth);
        expect(result.errors).toBeUndefined();
        return result.data!['task'].pullRequest ? result.data!['task'] : undefined;
      },
      { message: 'the pull request to be opened', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(task.pullRequest).toMatchObject({
      state: 'OPEN',
      headBranch: branch,
      baseBranch: 'main',
      taskId: id,
    });
    const repo = repositoriesOf(fake).get('acme/widgets')!;
    expect(pullsOf(fake, repo)).toHaveLength(1);
    // The agent's own review on the pull request: its verification in the summary, its note as a line comment.
    const [review, ...more] = await waitFor(
      () => (reviewsOf(fake, repo).length > 0 ? reviewsOf(fake, repo) : undefined),
      { message: "the agent's review to be posted", timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(more).toEqual([]);
    expect(review).toMatchObject({ pullNumber: task.pullRequest.number, commitId: head, event: 'COMMENT' });
    expect(review!.body).toContain('Fix sum() to add its arguments');
    expect(review!.body).toContain('Verification: ✅ passed');
    expect(review!.body).toContain('npm test');
    expect(review!.comments).toEqual([{ path: 'src/sum.js', line: 2, side: 'RIGHT', body: NOTE }]);
    expect(fake.violations).toEqual([]);

    // The token: in no captured log line, no task log (the sandbox printed its .git/config and environment), no
    // configuration file of a live workspace or mirror.
    const logs = await graphql(url, TASK_LOGS, { id }, auth);
    expect(logs.errors).toBeUndefined();
    const nodes = logs.data!['taskLogs'].edges.map((edge: any) => edge.node);
    const printed = JSON.stringify(nodes);
    expect(printed).toContain('remote.git');
    expect(configsSeen.length).toBeGreaterThanOrEqual(2);
    expect(tokens().length).toBeGreaterThanOrEqual(1);
    for (const token of tokens()) {
      const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
      for (const text of [printed, ...configsSeen, ...logLines]) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(basic);
      }
    }
    for (const text of [printed, ...configsSeen, ...logLines])
      expect(text.toLowerCase()).not.toContain('extraheader');
    expect(logLines.length).toBeGreaterThan(0);
  });

  it('fails REPOSITORY_ACCESS_DENIED for a repository the App installation does not cover', async () => {
    // acme/gadgets exists on GitHub, but the App is not installed on it: it cannot be connected, and the github
    // subgraph grants no token for it.
    const connect = await graphql(
      url,
      'mutation { connectRepository(owner: "acme", name: "gadgets") { fullName } }',
      {},
      auth,
    );
    expect(connect.errors?.[0]?.extensions?.['code']).toBe('GITHUB_NOT_CONFIGURED');
    const created = await graphql(
      url,
      CREATE_TASK,
      { input: { title: 'Touch gadgets', repository: 'acme/gadgets' } },
      auth,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!['createTask'].id as string;
    const task = await taskUntil(id, ['SUCCEEDED', 'FAILED']);
    expect(task.status).toBe('FAILED');
    expect(task.result.error.code).toBe('REPOSITORY_ACCESS_DENIED');
    expect(task.result.error.message).toContain('acme/gadgets');
    expect(task.result.error.message).toContain('connectRepository');
    expect(fake.branchesOf('acme', 'gadgets').size).toBe(1);
    for (const token of tokens()) for (const line of logLines) expect(line).not.toContain(token);
  });

  it('publishes only what the host checked: hostile branches, commits and bundles, and a moved branch, are refused', async () => {
    const work = mkdtempSync(join(tmpdir(), 'cap-publish-'));
    try {
      const secrets: string[] = [];
      const signal = new AbortController().signal;
      const repositories = new GithubRepositories({
        baseUrl: platform.github.subgraph.url,
        internalTokenSecret: INTERNAL_TOKEN_SECRET,
        path: process.env['PATH'] ?? '/usr/bin:/bin',
      });
      const workspace = join(work, 'workspace');
      const mirror = await repositories.mirror({
        repository: 'acme/widgets',
        dir: join(work, 'remote.git'),
        workspace,
        signal,
        secrets: { registerSecret: (value) => secrets.push(value) },
        onBehalfOf: randomUUID(),
      });
      expect(secrets.some((secret) => fake.tokens.has(secret))).toBe(true);
      for (const token of tokens())
        expect(readFileSync(join(mirror.dir, 'config'), 'utf8')).not.toContain(token);
      git(work, 'clone', '--quiet', mirror.dir, workspace);
      const main = git(workspace, 'rev-parse', 'HEAD');
      const commitAll = (text: string): string => {
        writeFileSync(join(workspace, 'note.txt'), text);
        git(workspace, 'add', 'note.txt');
        git(workspace, 'commit', '--quiet', '-m', text);
        return git(workspace, 'rev-parse', 'HEAD');
      };
      const commit = commitAll('one');
      const bundle = join(workspace, 'publish.bundle');
      git(workspace, 'bundle', 'create', '--quiet', bundle, 'HEAD', '--not', '--remotes');
      const before = fake.branchesOf('acme', 'widgets');

      const hostileBranches = [
        'main',
        'refs/heads/main',
        '--upload-pack=touch /tmp/pwned',
        '-f',
        '../main',
        'agent/../main',
        'agent/x..y',
        'agent/x.lock',
        'agent/x:refs/heads/main',
        'agent/x^',
        'agent/x y',
        'agent/x\n',
        'agent/x\u0000',
        '',
        `agent/${'a'.repeat(101)}`,
      ];
      for (const branch of hostileBranches)
        await expect(mirror.publish({ branch, commit, bundle, signal })).rejects.toThrow(/Refusing/);
      for (const bad of ['HEAD', 'main', '--all', commit.slice(0, 39), `${commit}z`, commit.toUpperCase()])
        await expect(mirror.publish({ branch: 'agent/x', commit: bad, bundle, signal })).rejects.toThrow(
          /Refusing/,
        );
      // The bundle is the sandbox's: a link to a host file, a link out of the workspace, or a directory is refused.
      symlinkSync('/etc/passwd', join(workspace, 'passwd.bundle'));
      copyFileSync(bundle, join(work, 'outside.bundle'));
      symlinkSync(join(work, 'outside.bundle'), join(workspace, 'outside.bundle'));
      mkdirSync(join(workspace, 'dir.bundle'));
      for (const name of ['passwd.bundle', 'outside.bundle', 'dir.bundle'])
        await expect(
          mirror.publish({ branch: 'agent/x', commit, bundle: join(workspace, name), signal }),
        ).rejects.toThrow(/not a regular file of the workspace/);
      // A bundle whose head is not the commit announced, and a commit the mirror does not have without a bundle.
      await expect(mirror.publish({ branch: 'agent/x', commit, bundle: null, signal })).rejects.toThrow();
      await expect(mirror.publish({ branch: 'agent/x', commit: main, bundle, signal })).rejects.toThrow(
        /holds/,
      );
      expect(fake.branchesOf('acme', 'widgets')).toEqual(before);

      // What passes the checks is published; a branch someone else moved since is not overwritten (lease).
      await mirror.publish({ branch: 'agent/lease', commit, bundle, signal });
      expect(fake.branchesOf('acme', 'widgets').get('agent/lease')).toBe(commit);
      git(join(fake.gitRoot, 'acme', 'widgets.git'), 'update-ref', 'refs/heads/agent/lease', main);
      const next = commitAll('two');
      git(workspace, 'bundle', 'create', '--quiet', bundle, 'HEAD', '--not', '--remotes');
      await expect(mirror.publish({ branch: 'agent/lease', commit: next, bundle, signal })).rejects.toThrow(
        /git push of agent\/lease to acme\/widgets failed/,
      );
      expect(fake.branchesOf('acme', 'widgets').get('agent/lease')).toBe(main);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
