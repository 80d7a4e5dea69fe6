import { execFileSync } from 'node:child_process';
import { userPrincipal } from '@cap/testkit';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskVia,
  processesWith,
  startOrchestrationHarness,
  uniqueMarker,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

/**
 * A task command is hostile: it tries to read the platform's secrets, reach its services, write outside its
 * workspace, read another task's workspace, exhaust the machine, or leave something behind. Each attempt is
 * contained by the command sandbox, with a clear log line and task outcome.
 */
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const OUTPUT_LIMIT = 16_384;
let cluster: OrchestrationHarness;
let node: Instance;
let dataDir: string;
const alice = userPrincipal('DEVELOPER');
const ADMIN_PASSWORD = `admin-password-${randomUUID()}`;
const WORKER_ONLY = `worker-only-${randomUUID()}`;

beforeAll(async () => {
  cluster = await startOrchestrationHarness({
    env: {
      WORKER_CONCURRENCY: '3',
      COMMAND_OUTPUT_LIMIT_BYTES: String(OUTPUT_LIMIT),
      COMMAND_MAX_PROCESSES: '64',
    },
  });
  // What `npm start` keeps in DATA_DIR, readable even by other users here: the sandbox must still hide it.
  dataDir = cluster.env['DATA_DIR']!;
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ INTERNAL_TOKEN_SECRET: cluster.secret }), {
    mode: 0o644,
  });
  writeFileSync(
    join(dataDir, 'admin-credentials.txt'),
    `email: admin@example.com\npassword: ${ADMIN_PASSWORD}\n`,
    { mode: 0o644 },
  );
  process.env['CAP_ESCAPE_TEST_WORKER_ONLY'] = WORKER_ONLY;
  node = await cluster.start();
});
afterAll(async () => {
  delete process.env['CAP_ESCAPE_TEST_WORKER_ONLY'];
  await cluster?.[Symbol.asyncDispose]();
});

async function logOf(taskId: string): Promise<Array<{ kind: string; level: string; message: string }>> {
  const result = await node.call(
    `query($id: ID!) { taskLogs(taskId: $id, first: 1000) { edges { node { kind level message } } } }`,
    { id: taskId },
    alice,
  );
  expect(result.errors).toBeUndefined();
  return result.data!['taskLogs'].edges.map((edge: { node: unknown }) => edge.node);
}

async function resultOf(taskId: string): Promise<Record<string, any>> {
  const result = await node.call(
    `query($id: ID!) { task(id: $id) { status result { exitCode changedFiles error { code message } } } }`,
    { id: taskId },
    alice,
  );
  return result.data!['task'];
}

describe('a hostile task command', () => {
  it('cannot read DATA_DIR (secrets.json, admin credentials) nor any process environment of the platform', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Steal secrets',
      command: [
        `cat ${dataDir}/secrets.json | base64`,
        `cat ${dataDir}/admin-credentials.txt | base64`,
        'cat /proc/1/environ | base64',
        'cat /proc/*/environ | base64',
        `cat /proc/${process.pid}/environ | base64`,
        'env | base64',
        'true',
      ].join('\n'),
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const lines = await logOf(id);
    const text = lines.map((line) => line.message).join('\n');
    // ("secrets.json: No" reads like a secret assignment to the log redactor, hence the looser match.)
    expect(text).toMatch(new RegExp(`cat: ${dataDir}/secrets\\.json: .* such file or directory`));
    expect(text).toContain(`cat: ${dataDir}/admin-credentials.txt: No such file or directory`);
    expect(text).toContain(`cat: /proc/${process.pid}/environ: No such file or directory`);
    // Whatever was printed, decoded: no secret of the platform is in it (base64 cannot smuggle what was never read).
    const decoded = lines
      .filter((line) => line.kind === 'COMMAND_OUTPUT' && /^[A-Za-z0-9+/=]+$/.test(line.message))
      .map((line) => line.message)
      .join('');
    const everything = `${text}\n${Buffer.from(decoded, 'base64').toString('latin1')}`;
    for (const secret of [cluster.secret, ADMIN_PASSWORD, WORKER_ONLY, cluster.db.url])
      expect(everything).not.toContain(secret);
  });

  it('cannot make the worker read a host file as its question (a symlink as the input-request file)', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Symlinked question',
      command: `ln -s ${dataDir}/secrets.json "$TASK_INPUT_REQUEST_FILE" && ln -s ${dataDir}/secrets.json /workspace/linked && echo linked`,
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const { prisma } = node.orchestration.deps;
    const stored = JSON.stringify([
      await prisma.taskInput.findMany({ where: { taskId: id } }),
      await prisma.taskLog.findMany({ where: { taskId: id } }),
      await prisma.executionResult.findMany({ where: { taskId: id } }),
    ]);
    expect(stored).not.toContain(cluster.secret);
    expect(await prisma.taskInput.count({ where: { taskId: id } })).toBe(0);
  });

  it('cannot write outside its workspace: not the host /tmp, DATA_DIR or the repository checkout', async () => {
    const marker = `escaped-${randomUUID()}`;
    const targets = [join(tmpdir(), marker), join(dataDir, marker), join(REPOSITORY, marker)];
    const id = await createTaskVia(node, alice, {
      title: 'Write outside',
      command: `${targets.map((target) => `echo x > ${target} || echo "refused ${target}"`).join('\n')}\necho inside > /workspace/ok && true`,
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    for (const target of targets) expect(existsSync(target)).toBe(false);
    const text = (await logOf(id)).map((line) => line.message).join('\n');
    expect(text).toContain(`refused ${join(dataDir, marker)}`);
  });

  it('cannot reach PostgreSQL or Redis on the host’s loopback', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Reach services',
      command: [
        'for port in 5432 6379; do if timeout 3 bash -c "</dev/tcp/127.0.0.1/$port"; then echo "REACHED $port"; else echo "blocked $port"; fi; done',
        `node -e 'require("net").connect(5432, "127.0.0.1").on("connect", () => { console.log("REACHED by node"); process.exit(0) }).on("error", (e) => { console.log("node blocked", e.code); process.exit(0) })'`,
      ].join('\n'),
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const text = (await logOf(id)).map((line) => line.message).join('\n');
    expect(text).toContain('blocked 5432');
    expect(text).toContain('blocked 6379');
    expect(text).toContain('node blocked');
    expect(text).not.toContain('REACHED');
  });

  it('cannot read another task’s workspace', async () => {
    const marker = uniqueMarker();
    const victim = await createTaskVia(node, alice, {
      title: 'Victim',
      command: `echo "victim-secret-${marker}" > secret.txt; sleep 20.${marker}`,
    });
    await waitFor(() => processesWith(`sleep 20.${marker}`).length === 1, { message: 'the victim to run' });
    const victimDir = readdirSync(cluster.workspaceRoot).find((name) =>
      name.startsWith(`cap-task-${victim.slice(0, 8)}`),
    )!;
    const path = join(cluster.workspaceRoot, victimDir, 'workspace', 'secret.txt');
    const thief = await createTaskVia(node, alice, {
      title: 'Thief',
      command: `cat ${path}; ls ${cluster.workspaceRoot}; true`,
    });
    await waitForStatus(node, thief, ['SUCCEEDED']);
    const text = (await logOf(thief)).map((line) => line.message).join('\n');
    expect(text).toContain('No such file or directory');
    expect(text).not.toContain(`victim-secret-${marker}`);
    await node.call(`mutation($id: ID!) { cancelTask(id: $id) { status } }`, { id: victim }, alice);
    await waitFor(() => processesWith(`sleep 20.${marker}`).length === 0, { message: 'the victim to stop' });
  });

  it('cannot fork-bomb the machine: forks fail at COMMAND_MAX_PROCESSES, the task ends, others still complete', async () => {
    const marker = `bomb${uniqueMarker()}`;
    const bomb = await createTaskVia(node, alice, {
      title: 'Fork bomb',
      command: `exec bash -c '${marker}() { ${marker} | ${marker} & }; ${marker}; sleep 60' ${marker}`,
      timeoutSeconds: 4,
    });
    const ok = await createTaskVia(node, alice, { title: 'Still works', command: 'echo alive' });
    await waitForStatus(node, ok, ['SUCCEEDED'], 20_000);
    await waitForStatus(node, bomb, ['FAILED'], 20_000);
    expect((await resultOf(bomb)).result.error.code).toBe('EXECUTION_TIMEOUT');
    await waitFor(
      () => processesWith(`bash -c ${marker}`).length === 0 && processesWith(marker).length === 0,
      { timeoutMs: 5_000, message: 'the bomb to be gone' },
    );
  });

  it(
    'cannot flood the log: 100 MB of output stop at COMMAND_OUTPUT_LIMIT_BYTES with OUTPUT_LIMIT_EXCEEDED',
    { timeout: 90_000 },
    async () => {
      const id = await createTaskVia(node, alice, { title: 'Flood', command: 'yes | head -c 100000000' });
      await waitForStatus(node, id, ['FAILED'], 60_000);
      expect((await resultOf(id)).result.error.code).toBe('OUTPUT_LIMIT_EXCEEDED');
      const { prisma } = node.orchestration.deps;
      const output = await prisma.taskLog.findMany({
        where: { taskId: id, kind: 'COMMAND_OUTPUT' },
        select: { message: true },
      });
      expect(output.reduce((sum, line) => sum + line.message.length + 1, 0)).toBeLessThanOrEqual(
        OUTPUT_LIMIT + 1,
      );
      const steps = (
        await prisma.taskLog.findMany({ where: { taskId: id, kind: 'STEP' }, select: { message: true } })
      ).map((line) => line.message);
      expect(
        steps.some((message) =>
          message.includes(`more than ${OUTPUT_LIMIT} bytes (COMMAND_OUTPUT_LIMIT_BYTES)`),
        ),
      ).toBe(true);
    },
  );

  it('leaves nothing running after the task: background jobs, setsid and nohup daemons are gone', async () => {
    const marker = uniqueMarker();
    const id = await createTaskVia(node, alice, {
      title: 'Daemon',
      command: `sleep 71.${marker} & setsid sleep 72.${marker} & nohup sleep 73.${marker} >/dev/null 2>&1 & echo started`,
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    await waitFor(() => [71, 72, 73].every((n) => processesWith(`sleep ${n}.${marker}`).length === 0), {
      timeoutMs: 3_000,
      message: 'the daemons to be gone',
    });
  });
});

describe('a hostile .git/config written by a task command', () => {
  it('runs nothing on the host: fsmonitor, hooks, filters, diff drivers, pager, ssh, credential and gpg programs, includes', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'cap-orch-hostile-'));
    // Where each program would leave its trace if it ran on the host (as whatever user): writable by all.
    const traces = mkdtempSync(join(tmpdir(), 'cap-orch-traces-'));
    chmodSync(traces, 0o777);
    try {
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=T', ...args], { cwd: repo });
      git('init', '--quiet');
      writeFileSync(join(repo, 'a.txt'), 'one\n');
      git('add', '.');
      git('commit', '--quiet', '-m', 'init');
      const trace = (name: string) => `touch ${join(traces, name)}`;
      const script = (name: string) => `#!/bin/sh\n${trace(name)}\n`;
      const command = [
        `git config core.fsmonitor "${trace('fsmonitor')}"`,
        `git config core.hooksPath "$PWD/.git/evil-hooks"`,
        'mkdir -p .git/evil-hooks',
        ...['post-index-change', 'pre-commit', 'post-checkout', 'reference-transaction'].map(
          (hook) =>
            `printf '${script(`hook-${hook}`).replaceAll('\n', '\\n')}' > .git/evil-hooks/${hook} && chmod +x .git/evil-hooks/${hook}`,
        ),
        `printf '${script('default-hook').replaceAll('\n', '\\n')}' > .git/hooks/post-index-change && chmod +x .git/hooks/post-index-change`,
        `git config filter.evil.clean "${trace('filter-clean')}"`,
        `git config filter.evil.process "${trace('filter-process')}"`,
        `git config diff.external "${trace('diff-external')}"`,
        `git config diff.evil.textconv "${trace('textconv')}"`,
        `git config core.pager "${trace('pager')}"`,
        `git config core.sshCommand "${trace('ssh')}"`,
        `git config credential.helper "!${trace('credential')}"`,
        `git config gpg.program "${trace('gpg')}"`,
        `git config commit.gpgSign true`,
        `printf '[core]\\n\\tfsmonitor = ${trace('include')}\\n' > .git/evil-include && git config include.path "$PWD/.git/evil-include"`,
        `printf '* filter=evil diff=evil\\n' > .gitattributes`,
        'echo two >> a.txt && echo new > b.txt',
      ].join('\n');
      const id = await createTaskVia(node, alice, {
        title: 'Hostile git config',
        repository: `file://${repo}`,
        command,
      });
      await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 30_000);
      expect(readdirSync(traces)).toEqual([]);
      expect((await resultOf(id)).status).toBe('SUCCEEDED');
    } finally {
      rmSync(repo, { recursive: true, force: true });
      rmSync(traces, { recursive: true, force: true });
    }
  });
});
