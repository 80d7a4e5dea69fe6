import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox, runInSandbox, unsandboxed, type Sandbox } from '../src/index.js';
import { makeRoot, makeWorkspace, processesWith, requireSandbox, run } from './helpers.js';

/** What a command must not reach: files beside the workspace, the repository, the worker's environment. */
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const root = makeRoot('cap-sandbox-test-');
let sandbox: Sandbox;
let workspace: string;
let dataDir: string;
const WORKER_SECRET = `worker-secret-${randomUUID()}`;

beforeAll(async () => {
  sandbox = await requireSandbox(root.dir);
  workspace = await makeWorkspace(sandbox, root.dir);
  // A DATA_DIR-like directory next to the workspace, as the platform keeps secrets.json and admin credentials.
  dataDir = join(root.dir, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ INTERNAL_TOKEN_SECRET: WORKER_SECRET }), {
    mode: 0o644,
  });
  // The worker's own environment must never reach a command.
  process.env['CAP_SANDBOX_TEST_WORKER_SECRET'] = WORKER_SECRET;
});
afterAll(() => {
  delete process.env['CAP_SANDBOX_TEST_WORKER_SECRET'];
  root.remove();
});

describe('detectSandbox', () => {
  it('finds a working bubblewrap here, and returns the unsandboxed runner only when asked', async () => {
    expect(sandbox).toMatchObject({
      mode: 'bwrap',
      bwrapPath: expect.stringMatching(/bwrap$/),
      prlimitPath: expect.stringMatching(/prlimit$/),
    });
    expect((await detectSandbox({ mode: 'none', workspaceRoot: root.dir })).available).toBe(true);
  });

  it('gives a root worker’s sandbox user search permission on a workspace root made private by mkdtemp', async () => {
    const privateRoot = mkdtempSync(join(root.dir, 'private-'));
    expect(statSync(privateRoot).mode & 0o777).toBe(0o700);
    const detection = await detectSandbox({ mode: 'bwrap', workspaceRoot: privateRoot });
    expect(detection.available).toBe(true);
    // Search only for the sandbox's user (when the worker is root): still nobody else can list it.
    expect(statSync(privateRoot).mode & 0o777).toBe(process.getuid?.() === 0 ? 0o711 : 0o700);
  });

  it('reports SANDBOX_UNAVAILABLE with a fix when bubblewrap is not on PATH', async () => {
    const detection = await detectSandbox({
      mode: 'bwrap',
      workspaceRoot: root.dir,
      path: join(root.dir, 'no-such-bin'),
    });
    expect(detection).toMatchObject({
      available: false,
      code: 'SANDBOX_UNAVAILABLE',
      reason: expect.stringContaining('bwrap'),
      fix: expect.stringContaining('bubblewrap'),
    });
  });
});

describe('a sandboxed command', () => {
  it('writes its workspace and nothing else: host files, DATA_DIR, the repository, /root and sockets are out of reach', async () => {
    const marker = `escape-${randomUUID()}`;
    const result = await run({
      sandbox,
      workspace,
      command: [
        'echo inside > /workspace/written && echo "workspace ok"',
        `cat ${dataDir}/secrets.json && echo "READ DATA_DIR"`,
        `echo x > ${dataDir}/${marker} && echo "WROTE DATA_DIR"`,
        `echo x > /tmp/${marker} && echo "tmp is private"`,
        `echo x > ${REPOSITORY}/${marker} && echo "WROTE REPOSITORY"`,
        `ls ${REPOSITORY}/package.json && echo "SAW REPOSITORY"`,
        'ls /root && echo "SAW ROOT"',
        'ls /run/postgresql /var/run/postgresql && echo "SAW SOCKETS"',
        'echo x > /etc/marker && echo "WROTE ROOTFS"',
        'cat /etc/shadow && echo "READ SHADOW"',
        'true',
      ].join('\n'),
    });
    expect(result.stdout).toContain('workspace ok');
    expect(result.stdout).toContain('tmp is private');
    for (const escape of [
      'READ DATA_DIR',
      'WROTE DATA_DIR',
      'WROTE REPOSITORY',
      'SAW REPOSITORY',
      'SAW ROOT',
      'SAW SOCKETS',
      'WROTE ROOTFS',
      'READ SHADOW',
    ]) {
      expect(result.stdout).not.toContain(escape);
    }
    expect(result.stdout).not.toContain(WORKER_SECRET);
    expect(readFileSync(join(workspace, 'written'), 'utf8')).toBe('inside\n');
    for (const path of [join(dataDir, marker), `/tmp/${marker}`, join(REPOSITORY, marker)])
      expect(existsSync(path)).toBe(false);
  });

  it('never sees the worker’s environment: not in its own, not in /proc/*/environ, not through the worker’s pid', async () => {
    const result = await run({
      sandbox,
      workspace,
      command: `env; cat /proc/*/environ; cat /proc/${process.pid}/environ; echo; echo "processes=$(ls /proc | grep -c '^[0-9]')"`,
    });
    expect(result.stdout + result.stderr).not.toContain(WORKER_SECRET);
    // Only the sandbox's own processes exist in its /proc (init, the shell, ls, grep).
    expect(Number(/processes=(\d+)/.exec(result.stdout)?.[1])).toBeLessThan(8);
  });

  it('passes exactly the environment it is given (generated names and values) plus PATH, HOME, LANG, TMPDIR (and PWD)', async () => {
    for (let round = 0; round < 5; round += 1) {
      const env: Record<string, string> = {};
      for (let index = 0; index < 8; index += 1) {
        const value = `${randomBytes(12).toString('base64')} "quoted" $dollar \`tick\` 'single'\n${'é✓'.repeat(round)}`;
        env[`GEN_${round}_${index}_${randomBytes(3).toString('hex').toUpperCase()}`] = value;
      }
      const result = await run({ sandbox, workspace, argv: ['/usr/bin/env', '-0'], env });
      const seen = Object.fromEntries(
        result.stdout
          .split('\0')
          .filter(Boolean)
          .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
      );
      expect(seen).toEqual({
        ...env,
        PATH: expect.any(String),
        LANG: 'C.UTF-8',
        HOME: '/workspace',
        TMPDIR: '/tmp',
        PWD: '/workspace',
      });
    }
  });

  it('has no network: PostgreSQL and Redis on loopback are unreachable, unless the caller allows the network', async () => {
    const probe =
      'for port in 5432 6379; do if timeout 3 bash -c "</dev/tcp/127.0.0.1/$port" 2>/dev/null; then echo "reached $port"; else echo "blocked $port"; fi; done';
    const closed = await run({ sandbox, workspace, command: probe });
    expect(closed.stdout).toContain('blocked 5432');
    expect(closed.stdout).toContain('blocked 6379');
    const open = await run({ sandbox, workspace, command: probe, network: true });
    expect(open.stdout).toContain('reached 5432');
  });

  it('leaves no process behind: background jobs, setsid and nohup daemons end with the command', async () => {
    const marker = String(1000 + Math.floor(Math.random() * 1000));
    const result = await run({
      sandbox,
      workspace,
      command: `sleep ${marker}.1 & setsid sleep ${marker}.2 & nohup sleep ${marker}.3 >/dev/null 2>&1 & (setsid sh -c "sleep ${marker}.4" &); echo started`,
    });
    expect(result).toMatchObject({ reason: 'exited', exitCode: 0 });
    expect(processesWith(`sleep ${marker}.`)).toEqual([]);
  });

  it('is stopped on cancel with SIGTERM, then SIGKILL after the grace, the whole tree with it', async () => {
    const marker = String(2000 + Math.floor(Math.random() * 1000));
    const controller = new AbortController();
    let output = '';
    const running = runInSandbox({
      sandbox,
      workspace,
      // Ignores SIGTERM: only the SIGKILL after the grace ends it.
      command: `trap "echo got-term" TERM; setsid sleep ${marker}.5 & echo ready; while :; do sleep 0.1; done`,
      killGraceMs: 500,
      signal: controller.signal,
      onOutput: (_stream, chunk) => {
        output += chunk.toString();
        if (output.includes('ready')) controller.abort();
      },
    });
    const result = await running;
    expect(result.reason).toBe('cancelled');
    expect(output).toContain('got-term');
    expect(processesWith(`sleep ${marker}.5`)).toEqual([]);
  });

  it('is stopped at its timeout', async () => {
    const result = await run({ sandbox, workspace, command: 'sleep 30', timeoutMs: 300, killGraceMs: 200 });
    expect(result.reason).toBe('timeout');
    expect(result.durationMs).toBeLessThan(10_000);
  });
});

describe('unsandboxed mode (COMMAND_SANDBOX=none)', () => {
  it('runs on the host in the workspace with only the given environment, and kills its process group at the end', async () => {
    const marker = String(3000 + Math.floor(Math.random() * 1000));
    const result = await run({
      sandbox: unsandboxed(),
      workspace,
      command: `pwd; env; sleep ${marker}.5 & echo done`,
      env: { GIVEN: 'yes' },
    });
    expect(result).toMatchObject({ reason: 'exited', exitCode: 0 });
    expect(result.stdout.split('\n')[0]).toBe(workspace);
    expect(result.stdout).toContain('GIVEN=yes');
    expect(result.stdout).not.toContain(WORKER_SECRET);
    expect(processesWith(`sleep ${marker}.5`)).toEqual([]);
  });
});
