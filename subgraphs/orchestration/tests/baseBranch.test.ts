import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCodes, seededRandom, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchNameProblem, MAX_BRANCH_NAME_LENGTH } from '../src/domain/gitRefName.js';
import { prepareWorkspace, WorkspaceError } from '../src/execution/workspace.js';
import {
  CREATE_TASK,
  createTaskVia,
  startOrchestrationHarness,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

/**
 * A task's base branch (issue #14: a CI fix works on the failing branch, not on the default one): `createTask`
 * validates it as a git branch name (generated input, checked against git's own `check-ref-format`), the worker
 * clones that branch (never as an option), and a branch the repository lacks fails the task with a code.
 */

let cluster: OrchestrationHarness;
let node: Instance;
let repoDir: string;
let mainHead: string;
let featureHead: string;
const alice = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=T', ...args], { cwd })
    .toString()
    .trim();

beforeAll(async () => {
  repoDir = mkdtempSync(join(tmpdir(), 'cap-orch-base-'));
  git(repoDir, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repoDir, 'README.md'), 'main\n');
  git(repoDir, 'add', '.');
  git(repoDir, 'commit', '--quiet', '-m', 'main');
  mainHead = git(repoDir, 'rev-parse', 'HEAD');
  git(repoDir, 'checkout', '--quiet', '-b', 'feature/x');
  writeFileSync(join(repoDir, 'feature.txt'), 'only on feature/x\n');
  git(repoDir, 'add', '.');
  git(repoDir, 'commit', '--quiet', '-m', 'feature');
  featureHead = git(repoDir, 'rev-parse', 'HEAD');
  git(repoDir, 'checkout', '--quiet', 'main');
  cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '2' } });
  node = await cluster.start();
}, 120_000);
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
  if (repoDir) rmSync(repoDir, { recursive: true, force: true });
});

/** Whether git itself takes `name` as a branch name. */
function gitAccepts(name: string): boolean {
  // A NUL cannot even reach git's argv (nor a ref).
  if (name.includes('\u0000')) return false;
  return spawnSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' }).status === 0;
}

describe('baseBranch validation (generated input)', () => {
  const next = seededRandom(0x5eed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const SAFE = 'abcxyzABC019-_/.é@{}'.split('');
  const HOSTILE = ['..', '@{', '\u0000', '\u001b', '\n', ' ', '~', '^', ':', '?', '*', '[', '\\', '\u007f'];
  const generated: string[] = [];
  for (let i = 0; i < 400; i += 1) {
    const length = 1 + Math.floor(next() * 12);
    let name = Array.from({ length }, () => pick(SAFE)).join('');
    if (i % 3 === 0) {
      const at = Math.floor(next() * (name.length + 1));
      name = name.slice(0, at) + pick(HOSTILE) + name.slice(at);
    }
    if (i % 17 === 0) name = `-${name}`;
    if (i % 19 === 0) name = `${name}.lock`;
    if (i % 23 === 0) name = `${name}${pick(['/', '.'])}`;
    generated.push(name);
  }

  it('accepts exactly what git accepts as a branch name (generated names)', { timeout: 180_000 }, () => {
    // One git process per name: the first 150 are asked (enough for both sides; the rest check below).
    const disagreements = generated
      .slice(0, 150)
      .filter((name) => (branchNameProblem(name) === null) !== gitAccepts(name));
    expect(disagreements).toEqual([]);
    // The generator reaches both sides.
    expect(generated.slice(0, 150).filter((name) => branchNameProblem(name) === null).length).toBeGreaterThan(
      20,
    );
    expect(generated.slice(0, 150).filter((name) => branchNameProblem(name) !== null).length).toBeGreaterThan(
      40,
    );
  });

  it('refuses every hostile shape, whatever surrounds it', () => {
    for (const hostile of HOSTILE) {
      for (const name of [`${hostile}a`, `a${hostile}`, `a${hostile}b`, `feature/${hostile}/x`])
        expect(branchNameProblem(name), JSON.stringify(name)).not.toBeNull();
    }
    for (const name of [
      '-b',
      '--upload-pack=touch /tmp/x',
      'a.lock',
      'a/',
      'a.',
      '/a',
      'a//b',
      '.a',
      'a/.b',
      '@',
    ])
      expect(branchNameProblem(name), name).not.toBeNull();
    expect(branchNameProblem('x'.repeat(MAX_BRANCH_NAME_LENGTH))).toBeNull();
    expect(branchNameProblem('x'.repeat(MAX_BRANCH_NAME_LENGTH + 1))).not.toBeNull();
    for (const name of ['main', 'feature/x', 'release-1.2', 'user@host', 'a.b/c_d', 'ünïcode'])
      expect(branchNameProblem(name), name).toBeNull();
  });

  it('createTask refuses malformed, oversized and hostile branches with a coded BAD_USER_INPUT, and writes nothing', async () => {
    const before = await node.orchestration.deps.prisma.codingTask.count();
    const bad = [
      '',
      '--upload-pack=touch /tmp/pwned',
      '-b',
      'main..evil',
      'main@{1}',
      'a\u0000b',
      'a b',
      'a~1',
      'x.lock',
      'x/',
      'x.',
      'x'.repeat(256),
      'x'.repeat(1_000_000),
      ...generated.filter((name) => branchNameProblem(name) !== null).slice(0, 20),
    ];
    for (const baseBranch of bad) {
      const result = await node.call(
        CREATE_TASK,
        { input: { title: 'Fix it', repository: 'acme/widgets', baseBranch } },
        alice,
      );
      expect(errorCodes(result), JSON.stringify(baseBranch.slice(0, 40))).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0]!.extensions).toMatchObject({ field: 'baseBranch' });
      expect(JSON.stringify(result.errors![0]!.extensions).length).toBeLessThan(2_000);
    }
    const orphan = await node.call(CREATE_TASK, { input: { title: 'Fix it', baseBranch: 'main' } }, alice);
    expect(errorCodes(orphan)).toEqual(['BAD_USER_INPUT']);
    expect(orphan.errors![0]!.extensions).toMatchObject({ field: 'baseBranch' });
    const wrongType = await node.call(
      CREATE_TASK,
      { input: { title: 'Fix it', repository: 'acme/widgets', baseBranch: 42 } },
      alice,
    );
    expect(wrongType.errors).toBeDefined();
    expect(await node.orchestration.deps.prisma.codingTask.count()).toBe(before);
  });

  it('refuses callers who may not create tasks', async () => {
    const input = { title: 'Fix it', repository: 'acme/widgets', baseBranch: 'feature/x' };
    expect(errorCodes(await node.call(CREATE_TASK, { input }, viewer))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await node.call(CREATE_TASK, { input }))).toEqual(['UNAUTHENTICATED']);
  });
});

const TASK = `query($id: ID!) {
  task(id: $id) {
    baseBranch
    result { changedFiles error { code message } }
  }
}`;

describe('the worker clones the base branch', () => {
  it('stores and exposes baseBranch; the command runs on that branch and changes are counted against its head', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'On feature/x',
      repository: repoDir,
      baseBranch: 'feature/x',
      strategy: 'SINGLE_SHOT',
      command: 'test -f feature.txt && echo done > out.txt',
    });
    await waitForStatus(node, id, ['SUCCEEDED', 'FAILED']);
    const task = (await node.call(TASK, { id }, alice)).data!['task'];
    expect(task).toMatchObject({
      baseBranch: 'feature/x',
      result: { changedFiles: ['out.txt'], error: null },
    });
    const logs = await node.call(
      `query($id: ID!) { taskLogs(taskId: $id, first: 100) { edges { node { message } } } }`,
      { id },
      alice,
    );
    expect(logs.data!['taskLogs'].edges.map((edge: any) => edge.node.message)).toContain(
      `Cloning ${repoDir} (branch feature/x) into the workspace.`,
    );
    // Without a base branch the default branch is cloned: feature.txt is not there.
    const other = await createTaskVia(node, alice, {
      title: 'On main',
      repository: repoDir,
      strategy: 'SINGLE_SHOT',
      command: 'test ! -e feature.txt',
    });
    await waitForStatus(node, other, ['SUCCEEDED', 'FAILED']);
    expect((await node.call(TASK, { id: other }, alice)).data!['task']).toMatchObject({
      baseBranch: null,
      result: { error: null },
    });
    expect(git(repoDir, 'rev-parse', 'main')).toBe(mainHead);
    expect(git(repoDir, 'rev-parse', 'feature/x')).toBe(featureHead);
  });

  it('fails the task with BASE_BRANCH_NOT_FOUND when the repository has no such branch', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'On a branch that is gone',
      repository: repoDir,
      baseBranch: 'feature/gone',
      strategy: 'SINGLE_SHOT',
      command: 'echo never > ran.txt',
    });
    await waitForStatus(node, id, ['SUCCEEDED', 'FAILED']);
    const task = (await node.call(TASK, { id }, alice)).data!['task'];
    expect(task.result.error.code).toBe('BASE_BRANCH_NOT_FOUND');
    expect(task.result.error.message).toContain('"feature/gone"');
  });

  it('never passes the branch to git as an option, even past the validation', async () => {
    const marker = join(tmpdir(), `cap-base-branch-pwned-${process.pid}`);
    for (const baseBranch of [`--upload-pack=touch ${marker}`, '-h', `--template=${tmpdir()}`]) {
      const error = await prepareWorkspace({
        root: cluster.workspaceRoot,
        path: process.env['PATH'] ?? '/usr/bin:/bin',
        repository: repoDir,
        baseBranch,
        taskId: '00000000-0000-4000-8000-000000000000',
        creatorId: '00000000-0000-4000-8000-000000000002',
        executionId: '00000000-0000-4000-8000-000000000001',
        workerId: 'test',
        sandbox: node.orchestration.commandSandbox!,
        signal: new AbortController().signal,
        log: {
          log: () => undefined,
          registerSecret: () => undefined,
          waitForCapacity: async () => undefined,
        },
      }).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(WorkspaceError);
      expect((error as WorkspaceError).code).toBe('BASE_BRANCH_NOT_FOUND');
    }
    expect(existsSync(marker)).toBe(false);
  });
});
