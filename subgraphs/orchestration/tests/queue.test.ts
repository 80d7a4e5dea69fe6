import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal } from '@cap/testkit';
import { finishExecution } from '../src/execution/executionEnd.js';
import { claimExecutions } from '../src/execution/queue.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

let cluster: OrchestrationHarness;
let api: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  api = await cluster.start({ WORKER_CONCURRENCY: '0' });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

describe('the work queue', () => {
  it('hands out queued executions by priority, then age, to one claimer at a time', async () => {
    const low = await createTaskVia(api, alice, { title: 'low', priority: 'LOW', strategy: 'SINGLE_SHOT' });
    const urgent = await createTaskVia(api, alice, {
      title: 'urgent',
      priority: 'URGENT',
      strategy: 'SINGLE_SHOT',
    });
    const normal1 = await createTaskVia(api, alice, { title: 'normal 1', strategy: 'SINGLE_SHOT' });
    const normal2 = await createTaskVia(api, alice, { title: 'normal 2', strategy: 'SINGLE_SHOT' });
    const { deps } = api.orchestration;
    const claim = (workerId: string) => claimExecutions(deps, { workerId, limit: 1, leaseMs: 60_000 });
    // In order: URGENT first, then NORMAL oldest first.
    const first = await claim('claimer-1');
    const second = await claim('claimer-2');
    expect([first[0]!.task.id, second[0]!.task.id]).toEqual([urgent, normal1]);
    // Two claimers racing for the last two get one each, never the same one.
    const raced = await Promise.all([claim('claimer-3'), claim('claimer-4')]);
    expect(raced.every((result) => result.length === 1)).toBe(true);
    expect(new Set(raced.flat().map((item) => item.task.id))).toEqual(new Set([normal2, low]));
    const claimed = [...first, ...second, ...raced.flat()];
    expect(await claimExecutions(deps, { workerId: 'late', limit: 5, leaseMs: 60_000 })).toEqual([]);
    for (const item of claimed) {
      expect(item.task.status).toBe('RUNNING');
      await finishExecution(deps, {
        executionId: item.execution.id,
        workerId: item.execution.workerId!,
        end: { kind: 'succeeded', result: { summary: 'done by hand' } },
        usage: { model: null, tokensIn: 0, tokensOut: 0, costUsd: 0 },
        executor: 'test',
        durationMs: 1,
      });
    }
    // A stale worker's outcome is refused (fenced by worker id).
    const fenced = await finishExecution(deps, {
      executionId: claimed[0]!.execution.id,
      workerId: 'someone-else',
      end: { kind: 'failed', error: { code: 'X', message: 'late' } },
      usage: { model: null, tokensIn: 0, tokensOut: 0, costUsd: 0 },
      executor: 'test',
      durationMs: 1,
    });
    expect(fenced).toBe(false);
    expect(
      (await deps.prisma.codingTask.findUniqueOrThrow({ where: { id: claimed[0]!.task.id } })).status,
    ).toBe('SUCCEEDED');
  });

  it('two instances with three workers share 20 tasks: each runs exactly once, never more at once than allowed', async () => {
    const a = await cluster.start({ WORKER_CONCURRENCY: '2' });
    const b = await cluster.start({ WORKER_CONCURRENCY: '1' });
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        createTaskVia(api, alice, { title: `Batch ${n}`, command: 'echo "ran $TASK_ID"; sleep 0.2' }),
      ),
    );
    const { prisma } = api.orchestration.deps;
    await waitFor(
      async () => (await prisma.codingTask.count({ where: { id: { in: ids }, status: 'SUCCEEDED' } })) === 20,
      {
        timeoutMs: 30_000,
        message: '20 tasks SUCCEEDED',
      },
    );
    const executions = await prisma.taskExecution.findMany({ where: { taskId: { in: ids } } });
    expect(executions).toHaveLength(20);
    expect(executions.every((execution) => execution.attempt === 1 && execution.status === 'SUCCEEDED')).toBe(
      true,
    );
    expect(new Set(executions.map((execution) => execution.taskId)).size).toBe(20);
    for (const id of ids) {
      const ran = await prisma.taskLog.count({ where: { taskId: id, message: `ran ${id}` } });
      expect(ran).toBe(1);
    }
    const workers = new Map([
      [a.orchestration.workers!.workerId, 2],
      [b.orchestration.workers!.workerId, 1],
    ]);
    expect(new Set(executions.map((execution) => execution.workerId))).toEqual(new Set(workers.keys()));
    // Bounded concurrency: at no instant did a worker pool run more executions than its WORKER_CONCURRENCY.
    for (const [workerId, limit] of workers) {
      const spans = executions
        .filter((execution) => execution.workerId === workerId)
        .map((execution) => [execution.startedAt!.getTime(), execution.endedAt!.getTime()] as const);
      for (const [start] of spans) {
        expect(spans.filter(([s, e]) => s <= start && start < e).length).toBeLessThanOrEqual(limit);
      }
    }
    await cluster.stop(b);
    await cluster.stop(a);
  });

  it('hands a running execution back to the queue when its instance shuts down, and another instance finishes it', async () => {
    const leaving = await cluster.start({ WORKER_CONCURRENCY: '1' });
    const id = await createTaskVia(api, alice, {
      title: 'Long',
      command: 'echo "attempt $TASK_ATTEMPT"; sleep 2; echo finished',
    });
    await waitForStatus(api, id, ['RUNNING']);
    await cluster.stop(leaving);
    const { prisma } = api.orchestration.deps;
    const handedBack = await prisma.taskExecution.findFirstOrThrow({
      where: { taskId: id, attempt: 1 },
      include: { result: true },
    });
    expect(handedBack.status).toBe('LOST');
    expect(handedBack.result!.summary).toMatch(/shut down/);
    expect((await prisma.codingTask.findUniqueOrThrow({ where: { id } })).status).toBe('QUEUED');

    await cluster.start({ WORKER_CONCURRENCY: '1' });
    await waitForStatus(api, id, ['SUCCEEDED']);
    const executions = await prisma.taskExecution.findMany({
      where: { taskId: id },
      orderBy: { attempt: 'asc' },
    });
    expect(executions.map((execution) => execution.status)).toEqual(['LOST', 'SUCCEEDED']);
    const messages = (await prisma.taskLog.findMany({ where: { taskId: id }, orderBy: { seq: 'asc' } })).map(
      (line) => line.message,
    );
    expect(messages).toContain('attempt 2');
    expect(messages).toContain('finished');
    // A graceful hand-back does not count as a lost worker.
    expect((await prisma.codingTask.findUniqueOrThrow({ where: { id } })).lostCount).toBe(0);
  });
});
