import { userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRunTransaction } from '../src/domain/runTransaction.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// The transactions on a running execution's path take their limits from EXECUTION_TRANSACTION_TIMEOUT_MS. Set
// small here so the test stays short: the transaction recording a finished execution waits on a task row another
// connection holds locked for longer than that, times out, and is retried until the lock goes; the task ends
// once, with one execution and one TaskCompleted, and is never requeued. The holder takes `FOR NO KEY UPDATE`
// (what an UPDATE of the row takes): `FOR UPDATE` would also block the log writer's inserts (their foreign key
// check takes `FOR KEY SHARE` on the task), so the execution would wait in its log, never reaching its end.
const TIMEOUT_MS = 300;
let cluster: OrchestrationHarness;
let instance: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  instance = await cluster.start({
    WORKER_CONCURRENCY: '1',
    EXECUTION_TRANSACTION_TIMEOUT_MS: String(TIMEOUT_MS),
  });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

function prisma() {
  return instance.orchestration.deps.prisma;
}

/** The transactions (backend and start) of this test's database waiting for a lock in a `coding_tasks` statement. */
async function waitersOnTaskRow(): Promise<string[]> {
  const rows = await prisma().$queryRawUnsafe<Array<{ waiter: string }>>(
    `SELECT pid::text || '@' || xact_start::text AS waiter FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%coding_tasks%'`,
  );
  return rows.map((row) => row.waiter);
}

describe('transactions of a running execution', () => {
  it('are rolled back after EXECUTION_TRANSACTION_TIMEOUT_MS, not Prisma’s 5 s default', async () => {
    await expect(
      inRunTransaction(instance.orchestration.deps, ({ tx }) => tx.$executeRawUnsafe('SELECT pg_sleep(3)')),
    ).rejects.toThrow(/statement timeout|expired|closed/i);
    // The client's own default still applies elsewhere: a plain transaction of the same length commits.
    await expect(
      prisma().$transaction((tx) => tx.$executeRawUnsafe('SELECT pg_sleep(0.5)'), { timeout: 10_000 }),
    ).resolves.toBeDefined();
  }, 30_000);

  it('record a finished execution exactly once when its transaction waits on a locked task row past the timeout', async () => {
    const id = await createTaskVia(instance, alice, {
      title: 'Finish under lock',
      command: 'sleep 1; echo done',
    });
    await waitForStatus(instance, id, ['RUNNING']);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = prisma().$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(
          'SELECT "id" FROM "orchestration"."coding_tasks" WHERE "id" = $1::uuid FOR NO KEY UPDATE',
          id,
        );
        locked();
        await released;
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
    try {
      await isLocked;
      // The finishing transaction waits on the row, times out, and a retry waits beside the abandoned one: the
      // first attempt failed while the lock was held longer than the timeout.
      // The finishing transaction waits on the row; its lock wait is cut at the timeout, the transaction rolls
      // back, and a retry (a new transaction) waits again: the first attempt failed while the lock was held.
      const first = await waitFor(async () => (await waitersOnTaskRow())[0], {
        timeoutMs: 60_000,
        message: 'the finishing transaction waiting on the locked task row',
      });
      await waitFor(async () => (await waitersOnTaskRow()).some((waiter) => waiter !== first), {
        timeoutMs: 60_000,
        message: 'a retried finishing transaction waiting on the locked task row',
      });
      expect((await prisma().codingTask.findUniqueOrThrow({ where: { id } })).status).toBe('RUNNING');
    } finally {
      release();
      await holder;
    }
    await waitForStatus(instance, id, ['SUCCEEDED']);
    const executions = await prisma().taskExecution.findMany({ where: { taskId: id } });
    expect(executions.map((execution) => [execution.attempt, execution.status])).toEqual([[1, 'SUCCEEDED']]);
    const task = await prisma().codingTask.findUniqueOrThrow({ where: { id } });
    expect(task.lostCount).toBe(0);
    const completed = await prisma().outboxEvent.count({ where: { key: id, type: 'TaskCompleted' } });
    expect(completed).toBe(1);
    const results = await prisma().executionResult.count({ where: { taskId: id } });
    expect(results).toBe(1);
  }, 120_000);
});
