import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { detectSandbox, grantWorkspace, unsandboxed, type Sandbox } from '@cap/sandbox';
import { git, sandboxReachableFixture, type Fixture } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCommandRunner } from '../src/execution/sandboxCommandRunner.js';

const LIMITS = {
  cpuSeconds: 60,
  memoryBytes: 4 * 2 ** 30,
  processes: 256,
  fileSizeBytes: 2 ** 30,
  tmpBytes: 2 ** 28,
  outputBytes: 2 ** 24,
};
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

let sandbox: Sandbox;
let fixture: Fixture;
let workspace: string;
let runner: SandboxCommandRunner;
const signal = new AbortController().signal;

beforeAll(async () => {
  fixture = sandboxReachableFixture();
  const detection = await detectSandbox({
    mode: 'bwrap',
    workspaceRoot: fixture.root,
    rootHostUser: { uid: 65534, gid: 65534 },
  });
  if (!detection.available) throw new Error(`these tests need the bubblewrap sandbox: ${detection.reason}`);
  sandbox = detection.sandbox;
  workspace = realpathSync(fixture.clone().dir);
  const controlDir = join(fixture.root, 'control');
  mkdirSync(controlDir, { mode: 0o700 });
  await grantWorkspace(sandbox, workspace);
  await grantWorkspace(sandbox, controlDir);
  runner = new SandboxCommandRunner({
    sandbox,
    workspace,
    controlDir,
    origin: realpathSync(fixture.origin),
    limits: LIMITS,
    killGraceMs: 500,
  });
});
afterAll(() => {
  fixture?.remove();
});

function run(request: {
  argv?: string[];
  shell?: string;
  env?: Record<string, string>;
  network?: boolean;
  maxOutputBytes?: number;
  cwd?: string;
}) {
  return runner.run({
    ...(request.argv ? { argv: request.argv } : { shell: request.shell ?? 'true' }),
    cwd: request.cwd ?? workspace,
    env: { PATH: '/usr/bin:/bin', HOME: join(workspace, '.cap-agent', 'home'), ...GIT_ENV, ...request.env },
    timeoutMs: 30_000,
    maxOutputBytes: request.maxOutputBytes ?? 65_536,
    network: request.network ?? false,
    signal,
  });
}

describe('the agent CommandRunner on the sandbox', () => {
  it('runs in the workspace as /workspace, with the HOME and environment the agent gives and nothing of the worker', async () => {
    process.env['CAP_RUNNER_TEST_SECRET'] = 'must-not-leak-7f3a';
    try {
      const result = await run({ shell: 'pwd; echo "HOME=$HOME"; env', env: { TASK_ID: 't-1' } });
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('/workspace\n');
      expect(result.output).toContain('HOME=/workspace/.cap-agent/home');
      expect(result.output).toContain('TASK_ID=t-1');
      expect(result.output).not.toContain('must-not-leak-7f3a');
      expect(result.output).not.toContain(fixture.root);
    } finally {
      delete process.env['CAP_RUNNER_TEST_SECRET'];
    }
    const nested = await run({ shell: 'pwd', cwd: join(workspace, 'src') });
    expect(nested.output.trim()).toBe('/workspace/src');
    const outside = await run({ shell: 'pwd', cwd: fixture.root });
    expect(outside.exitCode).toBe(127);
  });

  it('never lets a shell command (run_command) reach the origin, even one spelling git push to it', async () => {
    const before = git(fixture.origin, 'for-each-ref', '--format=%(refname)');
    for (const shell of [
      `ls ${fixture.origin}`,
      `touch ${fixture.origin}/owned`,
      `git push ${fixture.origin} HEAD:refs/heads/sneaky`,
    ]) {
      const result = await run({ shell, network: true });
      expect(result.exitCode, shell).not.toBe(0);
    }
    expect(git(fixture.origin, 'for-each-ref', '--format=%(refname)')).toBe(before);
  });

  it('binds the origin for git fetch (read-only) and git push (read-write) only', async () => {
    expect(await run({ argv: ['git', 'checkout', '--quiet', '-b', 'agent/test'] })).toMatchObject({
      exitCode: 0,
    });
    const pushed = await run({
      argv: [
        'git',
        '-c',
        'core.hooksPath=/dev/null',
        'push',
        '--quiet',
        fixture.origin,
        'HEAD:refs/heads/agent/test',
      ],
      network: true,
    });
    expect(pushed).toMatchObject({ exitCode: 0 });
    expect(fixture.branches()).toContain('agent/test');
    const fetched = await run({
      argv: ['git', 'fetch', '--quiet', fixture.origin, '+refs/heads/main:refs/remotes/o/main'],
      network: true,
    });
    expect(fetched).toMatchObject({ exitCode: 0 });
    // Another subcommand naming the origin gets no bind.
    const other = await run({ argv: ['git', 'ls-remote', fixture.origin] });
    expect(other.exitCode).not.toBe(0);
  });

  it('keeps the first maxOutputBytes of output and marks the cut, for sizes around the cap', async () => {
    for (const size of [0, 1, 999, 1_000, 1_001, 5_000, 70_000]) {
      const result = await run({ shell: `head -c ${size} /dev/zero | tr '\\0' x`, maxOutputBytes: 1_000 });
      expect(result.exitCode).toBe(0);
      expect(result.truncated).toBe(size > 1_000);
      const kept = result.output.split('\n')[0]!;
      expect(kept.length).toBe(Math.min(size, 1_000));
      if (size > 1_000) expect(result.output).toMatch(/output truncated at 1000 bytes/);
    }
  });

  it('reports a timeout and a cancel as such, with no exit code', async () => {
    const timedOut = await runner.run({
      shell: 'sleep 30',
      cwd: workspace,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 300,
      maxOutputBytes: 1_000,
      network: false,
      signal,
    });
    expect(timedOut).toMatchObject({ exitCode: null, timedOut: true, cancelled: false });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const cancelled = await runner.run({
      shell: 'sleep 30',
      cwd: workspace,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 30_000,
      maxOutputBytes: 1_000,
      network: false,
      signal: controller.signal,
    });
    expect(cancelled).toMatchObject({ exitCode: null, timedOut: false, cancelled: true });
  });

  it('with COMMAND_SANDBOX=none runs on the host in the workspace, with the given HOME and environment only', async () => {
    const host = new SandboxCommandRunner({
      sandbox: unsandboxed(),
      workspace,
      controlDir: join(fixture.root, 'control'),
      origin: realpathSync(fixture.origin),
      limits: LIMITS,
      killGraceMs: 500,
    });
    const result = await host.run({
      shell: 'pwd; echo "HOME=$HOME"; env',
      cwd: join(workspace, 'src'),
      env: { PATH: '/usr/bin:/bin', HOME: join(workspace, '.cap-agent', 'home'), TASK_ID: 't-2' },
      timeoutMs: 30_000,
      maxOutputBytes: 65_536,
      network: false,
      signal,
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(`${join(workspace, 'src')}\n`);
    expect(result.output).toContain(`HOME=${join(workspace, '.cap-agent', 'home')}`);
    expect(result.output).toContain('TASK_ID=t-2');
    expect(result.output).not.toMatch(/TEST_DATABASE_URL|VITEST/);
  });
});
