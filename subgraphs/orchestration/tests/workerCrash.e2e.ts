import { spawn, type ChildProcess } from 'node:child_process';
import { userPrincipal } from '@cap/testkit';
import { dirname, resolve } from 'node:path';
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
 * A worker PROCESS (the real `src/main.ts`) is SIGKILLed while it runs a task. After its 2-second lease expires
 * the sweeper re-queues the task and a worker on another instance runs it to success: nothing lost, never
 * two attempts at once, and the killed worker's command does not outlive it.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LEASE_MS = 2_000;
let cluster: OrchestrationHarness;
let api: Instance;
let child: ChildProcess | null = null;
let output = '';
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness({
    env: { LEASE_MS: String(LEASE_MS), HEARTBEAT_INTERVAL_MS: '400', SWEEP_INTERVAL_MS: '200' },
  });
  api = await cluster.start({ WORKER_CONCURRENCY: '0' });
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await cluster?.[Symbol.asyncDispose]();
});

describe('a worker process killed mid-task', () => {
  it('loses its lease, and the task is recovered and completed on another instance', async () => {
    // The command runs in its own pid namespace: the host finds its process by a unique argument.
    const sleep = `sleep 3.${uniqueMarker()}`;
    const id = await createTaskVia(api, alice, {
      title: 'Survives a crash',
      command: `echo "attempt $TASK_ATTEMPT started"; ${sleep}; echo "finished attempt $TASK_ATTEMPT"`,
    });

    child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'subgraphs/orchestration/src/main.ts'],
      {
        cwd: root,
        env: { ...cluster.env, WORKER_CONCURRENCY: '1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((done) =>
      child!.once('exit', (_code, signal) => done(signal)),
    );

    const { prisma } = api.orchestration.deps;
    // The child claimed the task and its command is running.
    await waitFor(
      async () =>
        (await prisma.taskLog.findFirst({ where: { taskId: id, message: 'attempt 1 started' } })) !== null &&
        processesWith(sleep).length === 1,
      {
        timeoutMs: 60_000,
        message: () => `the worker process to start the task; its output: ${output.slice(-2_000)}`,
      },
    );
    const first = await prisma.taskExecution.findFirstOrThrow({ where: { taskId: id, attempt: 1 } });
    expect(first.status).toBe('RUNNING');
    expect(first.workerId).toContain(`/${child.pid}/`);

    child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await exited).toBe('SIGKILL');
    // The command's sandbox dies with its worker (bubblewrap's --die-with-parent), not 3 s later.
    await waitFor(() => processesWith(sleep).length === 0, {
      timeoutMs: 2_000,
      message: 'the killed worker’s command to be gone',
    });

    const other = await cluster.start({ WORKER_CONCURRENCY: '1' });
    await waitForStatus(api, id, ['SUCCEEDED'], 20_000);
    const recoveredIn = Date.now() - killedAt;
    expect(recoveredIn).toBeGreaterThanOrEqual(LEASE_MS - 500);
    expect(recoveredIn).toBeLessThan(LEASE_MS + 8_000);

    const executions = await prisma.taskExecution.findMany({
      where: { taskId: id },
      orderBy: { attempt: 'asc' },
      include: { result: true },
    });
    expect(executions.map((execution) => [execution.attempt, execution.status])).toEqual([
      [1, 'LOST'],
      [2, 'SUCCEEDED'],
    ]);
    expect(executions[0]!.result).toMatchObject({ errorCode: 'WORKER_LOST' });
    expect(executions[1]!.workerId).toBe(other.orchestration.workers!.workerId);
    // Never two at once: attempt 2 started only after attempt 1 was declared lost.
    expect(executions[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(executions[0]!.endedAt!.getTime());
    const messages = (await prisma.taskLog.findMany({ where: { taskId: id }, orderBy: { seq: 'asc' } })).map(
      (line) => line.message,
    );
    expect(messages.filter((message) => message.startsWith('finished attempt'))).toEqual([
      'finished attempt 2',
    ]);
    expect(messages.some((message) => /Attempt 1 was lost/.test(message))).toBe(true);
    expect(await prisma.codingTask.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: 'SUCCEEDED',
      lostCount: 1,
      attempts: 2,
    });
  });
});
