import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusRecord } from '@cap/messaging';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskVia,
  processesWith,
  processExists,
  startOrchestrationHarness,
  uniqueMarker,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';
import { OUTCOME_FRAGMENTS, queryLogLines, queryTask } from './taskReads.js';

let cluster: OrchestrationHarness;
let node: Instance;
let published: BusRecord[];
const alice = userPrincipal('DEVELOPER');
const bob = userPrincipal('DEVELOPER');
const SECRET = 's3cr3t-deploy-value-42';

beforeAll(async () => {
  cluster = await startOrchestrationHarness({
    env: { WORKER_CONCURRENCY: '3', SHELL_EXECUTOR_PASS_ENV: 'DEPLOY_TOKEN', DEPLOY_TOKEN: SECRET },
  });
  node = await cluster.start();
  published = [];
  await cluster.bus.subscribe({
    groupId: 'execution-test-observer',
    topics: ['orchestration.task', 'orchestration.tasklog'],
    fromBeginning: true,
    handler: async (record) => {
      published.push(record);
    },
  });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const TASK = /* GraphQL */ `
  query ($id: ID!) {
    task(id: $id) {
      status
      attempts
      executions {
        attempt
        status
        executor
        worker
        result {
          summary
          exitCode
          changedFiles
          diffStats {
            ...OutcomeDiffStats
          }
          error {
            ...OutcomeError
          }
        }
      }
      result {
        summary
        exitCode
        error {
          ...OutcomeError
        }
      }
      inputRequest {
        question
      }
      inputs {
        question
        answer
        answeredBy
      }
    }
  }
  ${OUTCOME_FRAGMENTS}
`;

const readTask = (id: string) => queryTask(node, TASK, id, alice);
const logLines = (taskId: string) => queryLogLines(node, taskId, alice);

describe('the shell executor', () => {
  it('runs the command, streams its output line by line, and records the success with batched events', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Echo',
      command:
        'echo "hello $TASK_ID attempt $TASK_ATTEMPT"; echo "to stderr" >&2; for i in 1 2 3 4 5; do echo "line $i"; done; printf "no newline"',
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const task = await readTask(id);
    expect(task.executions).toMatchObject([
      { attempt: 1, status: 'SUCCEEDED', executor: 'shell', result: { exitCode: 0, error: null } },
    ]);
    expect(task.result.summary).toMatch(/exited with code 0/);
    const lines = await logLines(id);
    expect(lines.map((line) => line.seq)).toEqual(lines.map((_, index) => index + 1));
    const output = lines.filter((line) => line.kind === 'COMMAND_OUTPUT');
    expect(output.map((line) => line.message)).toEqual(
      expect.arrayContaining([`hello ${id} attempt 1`, 'to stderr', 'line 1', 'line 5', 'no newline']),
    );
    expect(output.find((line) => line.message === 'to stderr')!.data).toEqual({ stream: 'stderr' });
    const stdout = output.filter((line) => line.data.stream === 'stdout').map((line) => line.message);
    expect(stdout).toEqual([
      `hello ${id} attempt 1`,
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'no newline',
    ]);
    expect(lines[0]).toMatchObject({
      kind: 'STEP',
      message: expect.stringMatching(/^Attempt 1 started on worker /),
    });

    await waitFor(
      () => published.some((record) => record.key === id && record.headers['event-type'] === 'TaskCompleted'),
      { message: 'TaskCompleted' },
    );
    const types = published
      .filter((record) => record.key === id)
      .map((record) => record.headers['event-type']);
    expect(types.filter((type) => type !== 'TaskLogAppended')).toEqual([
      'TaskCreated',
      'TaskStarted',
      'TaskCompleted',
    ]);
    // One TaskLogAppended per batch, never one per line, and together they cover every entry once.
    const appended = published
      .filter((record) => record.key === id && record.headers['event-type'] === 'TaskLogAppended')
      .map((record) => JSON.parse(record.value).payload);
    expect(appended.length).toBeLessThan(lines.length);
    expect(appended.reduce((sum: number, event: { count: number }) => sum + event.count, 0)).toBe(
      lines.length,
    );
  });

  it('records a failing command with its exit code and stderr, retries it on request, and refuses to retry a success', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Fail',
      command: 'echo "boom: it broke" >&2; exit 3',
    });
    await waitForStatus(node, id, ['FAILED']);
    let task = await readTask(id);
    expect(task.result).toMatchObject({
      exitCode: 3,
      error: { code: 'COMMAND_FAILED', message: 'The command exited with code 3.', cause: 'boom: it broke' },
    });

    expect(
      errorCodes(await node.call(`mutation($id: ID!) { retryTask(id: $id) { id } }`, { id }, bob)),
    ).toEqual(['FORBIDDEN']);
    const retried = await node.call(
      `mutation($id: ID!) { retryTask(id: $id) { status attempts } }`,
      { id },
      alice,
    );
    expect(retried.data).toEqual({ retryTask: { status: 'QUEUED', attempts: 2 } });
    await waitFor(
      async () => (await readTask(id)).executions.length === 2 && (await readTask(id)).status === 'FAILED',
      { message: 'second attempt failed' },
    );
    task = await readTask(id);
    expect(
      task.executions.map((execution: { attempt: number; status: string }) => [
        execution.attempt,
        execution.status,
      ]),
    ).toEqual([
      [1, 'FAILED'],
      [2, 'FAILED'],
    ]);

    const ok = await createTaskVia(node, alice, { title: 'Succeed', command: 'true' });
    await waitForStatus(node, ok, ['SUCCEEDED']);
    const { prisma } = node.orchestration.deps;
    const before = [
      await prisma.taskExecution.count({ where: { taskId: ok } }),
      await prisma.outboxEvent.count({ where: { key: ok } }),
    ];
    const refused = await node.call(`mutation($id: ID!) { retryTask(id: $id) { id } }`, { id: ok }, alice);
    expect(errorCodes(refused)).toEqual(['INVALID_TASK_TRANSITION']);
    expect(refused.errors![0]!.extensions).toMatchObject({ from: 'SUCCEEDED', to: 'QUEUED' });
    expect([
      await prisma.taskExecution.count({ where: { taskId: ok } }),
      await prisma.outboxEvent.count({ where: { key: ok } }),
    ]).toEqual(before);
    expect((await prisma.codingTask.findUniqueOrThrow({ where: { id: ok } })).status).toBe('SUCCEEDED');
  });

  it('hands a task without a command to the agent, which fails it with AGENT_NOT_CONFIGURED (never NO_EXECUTOR) without a model', async () => {
    const id = await createTaskVia(node, alice, { title: 'Needs the agent', repository: 'acme/widgets' });
    await waitForStatus(node, id, ['FAILED']);
    const task = await readTask(id);
    expect(task.result.error).toMatchObject({
      code: 'AGENT_NOT_CONFIGURED',
      message: expect.stringMatching(/AGENT_MODEL/),
    });
    expect(task.executions[0].executor).toBe('agent');
  });

  it('kills a command that outlives its time limit (EXECUTION_TIMEOUT)', async () => {
    const started = Date.now();
    const marker = `sleep 30.${uniqueMarker()}`;
    const id = await createTaskVia(node, alice, {
      title: 'Slow',
      command: `echo started; exec ${marker}`,
      timeoutSeconds: 3,
    });
    await waitFor(async () => (await logLines(id)).some((line) => line.message === 'started'), {
      message: 'the command to start',
    });
    expect(processesWith(marker)).toHaveLength(1);
    await waitForStatus(node, id, ['FAILED'], 12_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await readTask(id)).result.error).toMatchObject({ code: 'EXECUTION_TIMEOUT' });
    await waitFor(() => processesWith(marker).length === 0, {
      timeoutMs: 3_000,
      message: `${marker} to be gone`,
    });
  });

  it('cancels a running command within seconds and kills its whole process tree', async () => {
    const marker = uniqueMarker();
    const id = await createTaskVia(node, alice, {
      title: 'Sleep',
      command: `sleep 31.${marker} & setsid sleep 32.${marker} & echo started; wait`,
    });
    await waitFor(async () => (await logLines(id)).some((line) => line.message === 'started'), {
      message: 'the command to start',
    });
    const running = (): number[] => [
      ...processesWith(`sleep 31.${marker}`),
      ...processesWith(`sleep 32.${marker}`),
    ];
    const pids = await waitFor(() => (running().length === 2 ? running() : undefined), {
      message: 'both sleeps',
    });
    expect(pids.every(processExists)).toBe(true);
    const cancelledAt = Date.now();
    const cancelled = await node.call(`mutation($id: ID!) { cancelTask(id: $id) { status } }`, { id }, alice);
    expect(cancelled.data).toEqual({ cancelTask: { status: 'CANCELLED' } });
    await waitFor(() => pids.every((pid) => !processExists(pid)), {
      timeoutMs: 5_000,
      message: 'the processes to be gone',
    });
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    await waitFor(async () => (await readTask(id)).executions[0].status === 'CANCELLED', {
      timeoutMs: 5_000,
      message: 'execution CANCELLED',
    });
    const task = await readTask(id);
    expect(task.status).toBe('CANCELLED');
    expect((await logLines(id)).some((line) => /cancelled/.test(line.message))).toBe(true);
  });

  it('asks the creator a question (AWAITING_INPUT) and resumes with the answer', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Ask',
      command:
        'if [ -z "$TASK_INPUT" ]; then echo "Which branch?" > "$TASK_INPUT_REQUEST_FILE"; else echo "answer=$TASK_INPUT answers=$TASK_ANSWERS"; fi',
    });
    await waitForStatus(node, id, ['AWAITING_INPUT']);
    expect(await readTask(id)).toMatchObject({
      inputRequest: { question: 'Which branch?' },
      executions: [{ status: 'AWAITING_INPUT' }],
    });
    const answer = `mutation($id: ID!, $a: String!) { provideTaskInput(input: { taskId: $id, answer: $a }) { status inputRequest { question } } }`;
    expect(errorCodes(await node.call(answer, { id, a: 'main' }, bob))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await node.call(answer, { id, a: 'bad \u0007 answer' }, alice))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect((await node.call(answer, { id, a: 'main' }, alice)).data).toEqual({
      provideTaskInput: { status: 'QUEUED', inputRequest: null },
    });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const task = await readTask(id);
    expect(task.inputs).toEqual([{ question: 'Which branch?', answer: 'main', answeredBy: alice.userId }]);
    expect(task.executions.map((execution: { status: string }) => execution.status)).toEqual([
      'AWAITING_INPUT',
      'SUCCEEDED',
    ]);
    const messages = (await logLines(id)).map((line) => line.message);
    expect(messages).toContain('answer=main answers=[{"question":"Which branch?","answer":"main"}]');
  });

  it('clones a local repository into the workspace and reports the files the command changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-orch-repo-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=T', ...args], { cwd: dir });
      git('init', '--quiet');
      writeFileSync(join(dir, 'README.md'), 'one\ntwo\n');
      writeFileSync(join(dir, 'old.txt'), 'old\n');
      git('add', '.');
      git('commit', '--quiet', '-m', 'init');
      const id = await createTaskVia(node, alice, {
        title: 'Edit',
        repository: `file://${dir}`,
        command:
          'test -f README.md && echo three >> README.md && printf "a\\nb\\n" > added.txt && rm old.txt && pwd',
      });
      await waitForStatus(node, id, ['SUCCEEDED']);
      const task = await readTask(id);
      expect(task.executions[0].result).toMatchObject({
        changedFiles: ['README.md', 'added.txt', 'old.txt'],
        diffStats: { filesChanged: 3, additions: 3, deletions: 1 },
      });
      const lines = await logLines(id);
      expect(lines.some((line) => line.message === `Cloning ${dir} into the workspace.`)).toBe(true);
      // The command ran in a temporary clone (at /workspace in its sandbox), which is gone afterwards; the source
      // repository is untouched.
      expect(lines.find((line) => line.kind === 'COMMAND_OUTPUT')!.message).toBe('/workspace');
      expect(execFileSync('git', ['status', '--porcelain'], { cwd: dir }).toString()).toBe('');
      expect(
        readdirSync(cluster.workspaceRoot).filter((name) => name.startsWith(`cap-task-${id.slice(0, 8)}`)),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores no secret: passed-through variables, token shapes and PEM blocks are redacted before they are written', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'Leaky',
      command: [
        'echo "deploying with $DEPLOY_TOKEN"',
        'echo "gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789"',
        'echo "db password=hunter2hunter2"',
        'echo "-----BEGIN RSA PRIVATE KEY-----"; echo "MIIEpAIBAAKCAQEA7"; echo "-----END RSA PRIVATE KEY-----"',
        `echo "fatal: $DEPLOY_TOKEN rejected" >&2; exit 1`,
      ].join('\n'),
    });
    await waitForStatus(node, id, ['FAILED']);
    const messages = (await logLines(id)).map((line) => line.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'deploying with [REDACTED]',
        'gh token [REDACTED]',
        'db password=[REDACTED]',
        '[REDACTED]',
        'fatal: [REDACTED] rejected',
      ]),
    );
    const { prisma } = node.orchestration.deps;
    const stored = JSON.stringify([
      await prisma.taskLog.findMany({ where: { taskId: id } }),
      await prisma.executionResult.findMany({ where: { taskId: id } }),
    ]);
    for (const secret of [
      SECRET,
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'hunter2hunter2',
      'MIIEpAIBAAKCAQEA7',
    ])
      expect(stored).not.toContain(secret);
    expect((await readTask(id)).result.error.cause).toBe('fatal: [REDACTED] rejected');
  });
});
