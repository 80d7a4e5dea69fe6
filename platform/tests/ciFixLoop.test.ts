import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@cap/runtime';
import {
  addFakeRepository,
  createTestDatabase,
  FakeModelServer,
  git,
  githubWebhookDelivery,
  graphql,
  installActionsRoutes,
  pullsOf,
  sampleWebhookPayload,
  startFakeGithub,
  waitFor,
  type FakeActions,
  type FakeGithub,
  type FakeRepository,
  type FakeRun,
  type TestDatabase,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPlatform } from '../src/index.js';
import { platformTestEnv, startPlatformAsAdmin } from './support/embeddedPlatform.js';
import {
  OWNER,
  NAME,
  REPOSITORY,
  WEBHOOK_SECRET,
  SET_POLICY,
  ME,
  BUILDS,
  BUILD,
  TASKS,
  TASK,
  STATS,
  BROKEN,
  FIXED,
  FEATURE_BROKEN,
  FEATURE_FIXED,
  FEATURE_TSC_ERROR,
  jobLog,
  run,
} from './ciFixLoopFixture.js';

/**
 * Issue #14's proof, end to end in the one-process platform (real PostgreSQL, as the other platform tests): the
 * fake GitHub holds acme/widgets (the App installed) whose `src/index.ts` does not type-check. A failing
 * `workflow_run`, signed as GitHub signs it, is posted to the router's `/webhooks/github` while the cicd poller
 * sees the same run in the Actions list; the job's log (a `tsc` error) is fetched behind GitHub's redirect and
 * parsed, and exactly ONE fix task is created on behalf of the user who enabled the AUTO policy through the graph.
 * The agent (a scripted model) fixes the file, its branch is pushed to the fake's git server and its pull request
 * opened; the green run of that pull request counts the fix as fixed. A failure that failed to be fixed twice is
 * handed to a person: ESCALATED, no third task. A failure on `feature/x` is fixed on `feature/x` (ADR 0031).
 */

describe('the CI fix loop (platform, through the router)', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-ci-fix-'));
  // Task sandboxes of a root worker run as another user, which must be able to reach WORKSPACE_ROOT (search only).
  chmodSync(dataDir, 0o711);
  let fake: FakeGithub;
  let actions: FakeActions;
  let repo: FakeRepository;
  let db: TestDatabase;
  let model: FakeModelServer;
  let platform: RunningPlatform;
  let url: string;
  let auth: Record<string, string>;
  let userId: string;

  const call = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const result = await graphql(url, query, variables, auth);
    expect(result.errors).toBeUndefined();
    return result.data!;
  };

  /**
   * Posts a `workflow_run` delivery of `run`, signed exactly as GitHub signs it, to the router; resolves when the
   * github subgraph has turned it into its event.
   */
  async function deliver(fakeRun: FakeRun): Promise<void> {
    const delivery = githubWebhookDelivery({
      event: 'workflow_run',
      schema: 'workflow-run-completed',
      secret: WEBHOOK_SECRET,
      payload: sampleWebhookPayload('workflow-run-completed', {
        action: 'completed',
        repository: { id: repo.id, name: NAME, full_name: REPOSITORY, owner: { login: OWNER } },
        workflow_run: actions.runPayload(REPOSITORY, fakeRun),
      }),
    });
    const response = await fetch(`${platform.router.url}/webhooks/github`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(response.status).toBe(202);
    await waitFor(
      async () =>
        (await platform.github.deps.prisma.webhookDelivery.findUnique({ where: { deliveryId: delivery.id } }))
          ?.processedAt != null || undefined,
      { message: `delivery ${delivery.id} processed`, timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  /** Resolves once the poller has listed the runs after call `since` (GitHub answering `statuses`). */
  async function polledSince(since: number, statuses = [200]): Promise<void> {
    await waitFor(
      () =>
        fake.calls
          .slice(since)
          .some(
            (call) =>
              call.route === 'GET /repos/{owner}/{repo}/actions/runs' && statuses.includes(call.status),
          ) || undefined,
      { message: 'the poller to list the runs', timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  /** The build of `fakeRun` once cicd decided about it (one row, whichever path saw it first). */
  async function decided(fakeRun: FakeRun, until: (fix: any) => boolean): Promise<any> {
    return waitFor(
      async () => {
        const builds = (await call(BUILDS, { r: REPOSITORY })).builds.edges
          .map((edge: any) => edge.node)
          .filter((node: any) => node.runId === String(fakeRun.id));
        expect(builds.length).toBeLessThanOrEqual(1);
        const build = builds[0];
        if (!build?.fix || !until(build.fix)) return undefined;
        return { id: build.id, ...(await call(BUILD, { id: build.id })).build };
      },
      { message: `a fix decision about run ${fakeRun.id}`, timeoutMs: 45_000, intervalMs: 200 },
    );
  }

  const tasks = async (): Promise<any[]> => (await call(TASKS)).tasks.edges.map((edge: any) => edge.node);
  const stats = async (): Promise<any> => (await call(STATS, { r: REPOSITORY })).ciFixStats;

  beforeAll(async () => {
    fake = await startFakeGithub();
    actions = await installActionsRoutes(fake);
    // The App is installed on acme/widgets; its main does not type-check.
    repo = addFakeRepository(fake, { owner: OWNER, name: NAME, installationId: 7 });
    const seed = join(dataDir, 'seed');
    git(dataDir, 'clone', '--quiet', join(fake.gitRoot, OWNER, `${NAME}.git`), seed);
    mkdirSync(join(seed, 'src'), { recursive: true });
    writeFileSync(join(seed, 'src', 'index.ts'), BROKEN);
    git(seed, 'add', '.');
    git(seed, 'commit', '--quiet', '-m', 'Add the answer');
    git(seed, 'push', '--quiet', 'origin', 'HEAD:main');
    model = await FakeModelServer.start('openai', [
      // The first fix: edit the file the log names, finish.
      {
        toolCalls: [
          { name: 'edit_file', arguments: { path: 'src/index.ts', old_string: BROKEN, new_string: FIXED } },
        ],
      },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Make answer a number' } }] },
      // The two fixes of the second failure fail (the model refuses the request: not retryable).
      { status: 400, message: 'the fake model refuses this fix' },
      { status: 400, message: 'the fake model refuses this fix' },
      // The fix on feature/x: the file only that branch has.
      {
        toolCalls: [
          {
            name: 'edit_file',
            arguments: { path: 'src/feature.ts', old_string: FEATURE_BROKEN, new_string: FEATURE_FIXED },
          },
        ],
      },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Make flag a boolean' } }] },
    ]);
    db = await createTestDatabase();
    const env = platformTestEnv(dataDir, {
      DATABASE_URL: db.url,
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'sk-test-ci-fix-loop-7d2f0b',
      AGENT_MODEL: 'gpt-4.1-mini',
      INTERNAL_TOKEN_SECRET: 'internal-secret-of-the-ci-fix-loop-test-0123456789',
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_APP_ID: String(fake.app.id),
      GITHUB_APP_PRIVATE_KEY: fake.app.privateKey,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CI_POLL_INTERVAL_MS: '250',
    });
    ({ platform, url, auth } = await startPlatformAsAdmin(
      env,
      createLogger({ service: 'platform-test', level: 'silent' }),
    ));
    userId = (await call(ME)).me.id;
    await call(`mutation { connectRepository(owner: "${OWNER}", name: "${NAME}") { fullName } }`);
    const policy = await call(SET_POLICY, {
      input: {
        repository: REPOSITORY,
        mode: 'AUTO',
        branches: ['main'],
        maxAttemptsPerFingerprint: 10,
        maxAttemptsPerPullRequest: 10,
      },
    });
    expect(policy.setFixPolicy).toEqual({ mode: 'AUTO', branches: ['main'], enabledBy: userId });
  }, 120_000);

  afterAll(async () => {
    await platform?.close();
    await model?.close();
    await actions?.close();
    await fake?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a failing run seen by the webhook and the poll gets ONE fix task; its pull request goes green: fixed', async () => {
    const main = fake.branchesOf(OWNER, NAME).get('main')!;
    const failing = run({ branch: 'main', sha: main, conclusion: 'failure' });
    // The poller lists it (every 250 ms) while the webhook delivers it: both paths see the run.
    const since = fake.calls.length;
    actions.addRun(REPOSITORY, failing);
    await Promise.all([deliver(failing), polledSince(since)]);

    const build = await decided(failing, (fix) => fix.taskId !== null);
    expect(build).toMatchObject({
      conclusion: 'FAILURE',
      logState: 'PARSED',
      jobs: [{ name: 'typecheck', conclusion: 'failure' }],
      failures: [{ tool: 'tsc', file: 'src/index.ts', line: 1 }],
      fix: { status: 'REQUESTED' },
    });
    expect(build.failures[0].message).toContain("Type 'string' is not assignable to type 'number'.");
    const taskId = build.fix.taskId as string;
    // Recorded once, decided once, one task, also after another poll.
    await polledSince(fake.calls.length, [200, 304]);
    const where = { repository: REPOSITORY, runId: BigInt(failing.id) };
    expect(await platform.cicd.deps.prisma.build.count({ where })).toBe(1);
    expect(await platform.cicd.deps.prisma.fixAttempt.count({ where: { buildId: build.id } })).toBe(1);
    const [task, ...others] = await tasks();
    expect(others).toEqual([]);
    expect(task).toMatchObject({ id: taskId, repository: REPOSITORY });
    const described = (await call(TASK, { id: taskId })).task.description as string;
    expect(described).toContain('`main`');
    expect(described).toContain("Type 'string' is not assignable to type 'number'.");

    // The agent fixes the file; its branch is pushed to the fake's git server and its pull request opened.
    const done = await waitFor(
      async () => {
        const found = (await call(TASK, { id: taskId })).task;
        return found.status === 'FAILED' || found.pullRequest ? found : undefined;
      },
      { message: 'the fix task to open its pull request', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(done.result?.error ?? null).toBeNull();
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      pullRequest: { state: 'OPEN', headBranch: done.result.branch, baseBranch: 'main' },
    });
    const head = fake.branchesOf(OWNER, NAME).get(done.result.branch)!;
    expect(head).toBe(done.result.commitSha);
    expect(git(join(fake.gitRoot, OWNER, `${NAME}.git`), 'show', `${head}:src/index.ts`)).toBe(FIXED.trim());
    const pulls = pullsOf(fake, repo);
    expect(pulls).toHaveLength(1);

    // The fix's pull request runs CI and it passes.
    const green = run({
      branch: done.result.branch,
      sha: head,
      conclusion: 'success',
      pullRequests: [done.pullRequest.number],
      event: 'pull_request',
    });
    // GitHub lists it too, and the poll records it first (GitHub's run list knows no task ids); the webhook's
    // event of the same run names the fix's task (its pull request's) after.
    actions.addRun(REPOSITORY, green);
    await waitFor(
      async () =>
        (await call(BUILDS, { r: REPOSITORY })).builds.edges.some(
          (edge: any) => edge.node.runId === String(green.id) && edge.node.source === 'POLL',
        ) || undefined,
      { message: "the poll to record the fix's green run", timeoutMs: 30_000, intervalMs: 200 },
    );
    await deliver(green);
    const fixed = await decided(failing, (fix) => fix.status !== 'REQUESTED');
    expect(fixed.fix).toMatchObject({
      status: 'FIXED',
      taskId,
      fixPullRequest: done.pullRequest.number,
    });
    expect(await stats()).toMatchObject({ requested: 1, fixed: 1, failed: 0, escalated: 0 });
    expect(await tasks()).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  it('a failure that failed to be fixed twice is escalated to a person, and no third task is created', async () => {
    // What `tsc --noEmit --pretty false` prints once `export const twice = answr * 2;` follows the fixed line.
    const log = jobLog("src/index.ts(2,22): error TS2552: Cannot find name 'answr'. Did you mean 'answer'?");
    const sha = (n: number) => `${String(n).repeat(40)}`.slice(0, 40);
    let fingerprint: string | null = null;
    for (const n of [1, 2]) {
      const failing = run({ branch: 'main', sha: sha(n), conclusion: 'failure', log });
      actions.addRun(REPOSITORY, failing);
      await deliver(failing);
      const requested = await decided(failing, (fix) => fix.taskId !== null);
      expect(requested.fix.status).toBe('REQUESTED');
      fingerprint ??= requested.failures[0].fingerprint as string;
      expect(requested.failures[0].fingerprint).toBe(fingerprint);
      // The agent's model refuses: the task fails, and so does the fix.
      const failed = await decided(failing, (fix) => fix.status !== 'REQUESTED');
      expect(failed.fix.status).toBe('FAILED');
      expect(failed.fix.reason).toContain('the fix task failed');
    }
    expect(await tasks()).toHaveLength(3);

    const third = run({ branch: 'main', sha: sha(3), conclusion: 'failure', log });
    actions.addRun(REPOSITORY, third);
    await deliver(third);
    const escalated = await decided(third, (fix) => fix.status !== 'REQUESTED');
    expect(escalated.failures[0].fingerprint).toBe(fingerprint);
    expect(escalated.fix).toMatchObject({ status: 'ESCALATED', taskId: null });
    expect(escalated.fix.reason).toContain('failed to be fixed 2 times');
    expect(await platform.cicd.deps.prisma.outboxEvent.count({ where: { type: 'FixEscalated' } })).toBe(1);
    expect(await stats()).toMatchObject({ requested: 3, fixed: 1, failed: 2, escalated: 1 });
    // No third task for this failure (the first one's task and the two failed ones only).
    expect(await tasks()).toHaveLength(3);
    expect(fake.violations).toEqual([]);
  });

  it('a failing run on a feature branch is fixed ON that branch: cloned from it, its pull request targets it', async () => {
    await call(SET_POLICY, {
      input: {
        repository: REPOSITORY,
        mode: 'AUTO',
        branches: ['main', 'feature/*'],
        maxAttemptsPerFingerprint: 10,
        maxAttemptsPerPullRequest: 10,
      },
    });
    // feature/x adds a file main does not have, and it does not type-check.
    const seed = join(dataDir, 'seed');
    git(seed, 'checkout', '--quiet', '-b', 'feature/x');
    writeFileSync(join(seed, 'src', 'feature.ts'), FEATURE_BROKEN);
    git(seed, 'add', '.');
    git(seed, 'commit', '--quiet', '-m', 'Add the flag');
    git(seed, 'push', '--quiet', 'origin', 'HEAD:refs/heads/feature/x');
    const branches = () => fake.branchesOf(OWNER, NAME);
    const featureHead = branches().get('feature/x')!;
    const mainBefore = branches().get('main')!;
    const failing = run({
      branch: 'feature/x',
      sha: featureHead,
      conclusion: 'failure',
      log: jobLog(FEATURE_TSC_ERROR),
    });
    actions.addRun(REPOSITORY, failing);
    await deliver(failing);
    const build = await decided(failing, (fix) => fix.taskId !== null);
    expect(build.fix.status).toBe('REQUESTED');
    const taskId = build.fix.taskId as string;
    const done = await waitFor(
      async () => {
        const found = (await call(TASK, { id: taskId })).task;
        return found.status === 'FAILED' || found.pullRequest ? found : undefined;
      },
      { message: 'the feature fix to open its pull request', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(done.result?.error ?? null).toBeNull();
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      baseBranch: 'feature/x',
      pullRequest: { state: 'OPEN', headBranch: done.result.branch, baseBranch: 'feature/x' },
    });
    expect(pullsOf(fake, repo).find((pull) => pull.head === done.result.branch)?.base).toBe('feature/x');
    // The agent worked on feature/x's head: the fix is its only change against that branch; main is untouched.
    const bare = join(fake.gitRoot, OWNER, `${NAME}.git`);
    const head = branches().get(done.result.branch)!;
    expect(head).toBe(done.result.commitSha);
    expect(git(bare, 'show', `${head}:src/feature.ts`)).toBe(FEATURE_FIXED.trim());
    expect(git(bare, 'merge-base', head, 'feature/x')).toBe(featureHead);
    expect(git(bare, 'diff', '--name-only', `feature/x...${head}`)).toBe('src/feature.ts');
    expect(branches().get('main')).toBe(mainBefore);
    model.assertDone();
    expect(fake.violations).toEqual([]);
  });
});
