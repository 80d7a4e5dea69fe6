import { randomUUID } from 'node:crypto';
import { userPrincipal } from '@cap/testkit';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

/**
 * COMMAND_SANDBOX and what happens without a sandbox, and the cleanup of abandoned workspaces. Each case has its
 * own cluster (its own queue), so a worker without a sandbox never picks up another case's task.
 */
const alice = userPrincipal('DEVELOPER');

async function messages(instance: Instance, taskId: string): Promise<string[]> {
  const { prisma } = instance.orchestration.deps;
  return (
    await prisma.taskLog.findMany({ where: { taskId }, orderBy: { seq: 'asc' }, select: { message: true } })
  ).map((line) => line.message);
}

describe('without a working sandbox', () => {
  let cluster: OrchestrationHarness;
  let node: Instance;
  beforeAll(async () => {
    // No bubblewrap on this PATH: detection fails, as on a host without bubblewrap or user namespaces.
    cluster = await startOrchestrationHarness({ env: { PATH: join('/nonexistent', randomUUID()) } });
    node = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('refuses to run commands: the task FAILs with SANDBOX_UNAVAILABLE and a log line naming the fix', async () => {
    expect(node.orchestration.commandSandbox).toMatchObject({
      available: false,
      fix: expect.stringContaining('COMMAND_SANDBOX=none'),
    });
    const id = await createTaskVia(node, alice, { title: 'No sandbox', command: 'echo should-not-run' });
    await waitForStatus(node, id, ['FAILED']);
    const { prisma } = node.orchestration.deps;
    const result = await prisma.executionResult.findFirstOrThrow({ where: { taskId: id } });
    expect(result.errorCode).toBe('SANDBOX_UNAVAILABLE');
    const lines = await messages(node, id);
    expect(lines).not.toContain('should-not-run');
    expect(
      lines.some((line) =>
        /no command sandbox is available .*Fix: .*bubblewrap.*COMMAND_SANDBOX=none/.test(line),
      ),
    ).toBe(true);
  });
});

describe('COMMAND_SANDBOX=none', () => {
  let cluster: OrchestrationHarness;
  let node: Instance;
  beforeAll(async () => {
    cluster = await startOrchestrationHarness({ env: { COMMAND_SANDBOX: 'none' } });
    node = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('runs commands unsandboxed, and says so in every task’s log', async () => {
    const id = await createTaskVia(node, alice, { title: 'Unsandboxed', command: 'echo "home=$HOME"' });
    await waitForStatus(node, id, ['SUCCEEDED']);
    const lines = await messages(node, id);
    expect(lines.some((line) => line.startsWith('COMMAND_SANDBOX=none: this command runs unsandboxed'))).toBe(
      true,
    );
    expect(lines.find((line) => line.startsWith('home='))).toMatch(
      new RegExp(`^home=${cluster.workspaceRoot}/cap-task-`),
    );
  });
});

describe('abandoned workspaces', () => {
  let cluster: OrchestrationHarness;
  let node: Instance;
  beforeAll(async () => {
    cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '1' } });
    node = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('are removed (a killed worker’s), while live ones and directories the platform did not create stay', async () => {
    const root = cluster.workspaceRoot;
    const { prisma } = node.orchestration.deps;
    const make = (name: string, marker?: object): string => {
      const dir = join(root, name);
      mkdirSync(join(dir, 'workspace'), { recursive: true });
      if (marker) writeFileSync(join(dir, 'cap-workspace.json'), JSON.stringify(marker));
      return dir;
    };
    // A task whose execution is RUNNING under a valid lease (a live worker elsewhere), and one whose worker died.
    const liveTask = await createTaskVia(node, alice, { title: 'Live', repository: 'acme/widgets' });
    await waitForStatus(node, liveTask, ['FAILED']);
    const [execution] = await prisma.taskExecution.findMany({ where: { taskId: liveTask } });
    await prisma.taskExecution.update({
      where: { id: execution!.id },
      data: { status: 'RUNNING', leaseExpiresAt: new Date(Date.now() + 60_000) },
    });
    const live = make('cap-task-live0000-AAAAAA', { executionId: execution!.id });
    const finished = make('cap-task-done0000-BBBBBB', { executionId: execution!.id });
    const unknown = make('cap-task-gone0000-CCCCCC', { executionId: randomUUID() });
    const noMarker = make('cap-task-nomarker-DDDDDD');
    const foreign = make('someone-elses-dir', { executionId: randomUUID() });
    // The finished one points at an execution that ended: only its own marker differs.
    const ended = await createTaskVia(node, alice, { title: 'Ended', repository: 'acme/widgets' });
    await waitForStatus(node, ended, ['FAILED']);
    const [endedExecution] = await prisma.taskExecution.findMany({ where: { taskId: ended } });
    writeFileSync(join(finished, 'cap-workspace.json'), JSON.stringify({ executionId: endedExecution!.id }));

    const removed = await node.orchestration.workspaceJanitor!.sweepOnce();
    expect(removed).toBe(2);
    expect([live, finished, unknown, noMarker, foreign].map((dir) => existsSync(dir))).toEqual([
      true,
      false,
      false,
      true,
      true,
    ]);

    // Once the live execution's lease has long expired (its worker was killed), its workspace goes too.
    await prisma.taskExecution.update({
      where: { id: execution!.id },
      data: { leaseExpiresAt: new Date(Date.now() - 3_600_000) },
    });
    expect(await node.orchestration.workspaceJanitor!.sweepOnce()).toBe(1);
    expect(existsSync(live)).toBe(false);
  });

  it('are removed at start', async () => {
    const dir = join(cluster.workspaceRoot, 'cap-task-atstart0-EEEEEE');
    mkdirSync(join(dir, 'workspace', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'cap-workspace.json'), JSON.stringify({ executionId: randomUUID() }));
    const other = await cluster.start({ WORKER_CONCURRENCY: '1' });
    await other.orchestration.workspaceJanitor!.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
