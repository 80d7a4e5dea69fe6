import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInts, userPrincipal } from '@cap/testkit';
import {
  appendTaskLogs,
  LOST_LINE_MESSAGE,
  reserveTaskLogSeqs,
  storedRow,
  storeReservedTaskLogs,
  type QueuedLogEntry,
  type TaskLogLiveMessage,
} from '../src/logs/taskLogs.js';
import { TaskLogWriter } from '../src/logs/taskLogWriter.js';
import { TaskLogTails } from '../src/logs/taskLogTail.js';
import { recoverExpiredLeases } from '../src/execution/leaseRecovery.js';
import { toTaskLogWire } from '../src/domain/liveMessages.js';
import type { TaskLog } from '../src/generated/prisma/client.js';
import { LiveTopic } from '../src/live/LiveTopic.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// ADR 0028: a writer publishes lines once their seqs are reserved and stores them afterwards. These tests drive
// the real writer, tails, PostgreSQL and Redis through the orders that can happen between reserving, publishing,
// storing, other writers and subscribers attaching or resuming anywhere, and through a worker dying between
// publish and commit.
let cluster: OrchestrationHarness;
let instance: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  // No workers: the tasks stay queued and only this test writes their logs. No timed sweep either: the test
  // recovers the expired lease itself, and a sweep between its expiry and that call would recover it first.
  instance = await cluster.start({ WORKER_CONCURRENCY: '0', SWEEP_INTERVAL_MS: '600000' });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const deps = () => instance.orchestration.deps;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

function lines(count: number, label: string): QueuedLogEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    executionId: null,
    level: 'INFO' as const,
    kind: 'COMMAND_OUTPUT' as const,
    message: `${label} ${index + 1}`,
    createdAt: new Date(),
  }));
}

const publish = (taskId: string, message: TaskLogLiveMessage) =>
  deps().live.publish(LiveTopic.taskLogs(taskId), message);

/** Reserves seqs for `count` lines and publishes them, as the writer's first stage does; nothing is stored. */
async function reserveAndPublish(taskId: string, count: number, label: string) {
  const first = await reserveTaskLogSeqs(deps(), taskId, count);
  const rows = lines(count, label).map((entry, index) => ({ ...entry, seq: first + index }));
  await publish(taskId, { entries: rows.map((row) => toTaskLogWire(storedRow(taskId, row))) });
  return rows;
}

/** Pulls a tail in the background into `entries` until it is returned. */
function pump(tail: AsyncGenerator<TaskLog>): { entries: TaskLog[]; done: Promise<void> } {
  const entries: TaskLog[] = [];
  const done = (async () => {
    for await (const entry of tail) entries.push(entry);
  })();
  return { entries, done };
}

describe('task logs published before they are stored', () => {
  it('the writer delivers every line once and in order to every subscriber, and stores all of them densely', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Writer', command: 'true' });
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps());
    const subscribers = await Promise.all(Array.from({ length: 3 }, () => tails.tail(taskId, base)));
    const pumps = subscribers.map(pump);
    const writer = new TaskLogWriter(deps(), { taskId, executionId: null });
    const total = 2_500;
    for (let index = 1; index <= total; index += 1) {
      writer.log({ level: 'INFO', kind: 'COMMAND_OUTPUT', message: `line ${index}` });
      if (index % 300 === 0) {
        await writer.waitForCapacity();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await writer.close();
    expect(writer.written).toBe(total);
    await waitFor(() => pumps.every((one) => one.entries.length >= total), {
      message: 'every subscriber received every line',
    });
    for (const one of pumps) {
      expect(one.entries.map((entry) => entry.seq)).toEqual(range(base + 1, base + total));
      expect(one.entries.map((entry) => entry.message)).toEqual(
        range(1, total).map((index) => `line ${index}`),
      );
    }
    const stored = await deps().prisma.taskLog.findMany({ where: { taskId }, orderBy: { seq: 'asc' } });
    expect(stored.map((entry) => entry.seq)).toEqual(range(1, base + total));
    await Promise.all(subscribers.map((tail) => tail.return(undefined)));
    await Promise.all(pumps.map((one) => one.done));
  });

  it.each(range(1, 12))(
    'generated interleaving %i: subscribers attaching or resuming anywhere see each seq once, in order, with no gap; a slow one delays no one',
    async (seed) => {
      const next = seededInts(seed * 7_919);
      const taskId = await createTaskVia(instance, alice, { title: `Interleaving ${seed}`, command: 'true' });
      const base = await deps().prisma.taskLog.count({ where: { taskId } });
      const shared = new TaskLogTails(deps(), { window: 1 + next(40) });
      // Never pulled until every other subscriber is done: it must hold nobody up.
      const slowTail = await shared.tail(taskId, base);
      const subscribers: Array<{
        from: number;
        tail: AsyncGenerator<TaskLog>;
        pump: ReturnType<typeof pump>;
      }> = [];
      let unstored: Array<Array<QueuedLogEntry & { seq: number }>> = [];
      let high = base;
      for (let step = 0; step < 30; step += 1) {
        const action = next(10);
        if (action < 3) {
          const rows = await reserveAndPublish(taskId, 1 + next(15), `w${step}`);
          unstored.push(rows);
          high = rows[rows.length - 1]!.seq;
        } else if (action < 5 && unstored.length > 0) {
          // Any reserved batch may commit first (another writer's commit crosses this one's).
          const batch = unstored.splice(next(unstored.length), 1)[0]!;
          await storeReservedTaskLogs(deps(), taskId, null, batch);
          if (next(4) > 0) await publish(taskId, { stored: batch[batch.length - 1]!.seq });
        } else if (action < 6) {
          // A note of orchestration's own: reserved, stored and published at once; sometimes its message is lost.
          const [note] = await appendTaskLogs(deps(), taskId, null, lines(1, `note ${step}`));
          high = note!.seq;
          if (next(3) > 0) await publish(taskId, { entries: [toTaskLogWire(note!)] });
        } else if (action < 9) {
          const from = base + next(high - base + 1);
          // Half join the shared tail, half open a fresh one (its window starts wherever the stream is now).
          const tails = next(2) === 0 ? shared : new TaskLogTails(deps(), { window: 1 + next(40) });
          const tail = await tails.tail(taskId, from);
          subscribers.push({ from, tail, pump: pump(tail) });
        } else {
          await new Promise((resolve) => setTimeout(resolve, next(20)));
        }
      }
      for (const batch of unstored) await storeReservedTaskLogs(deps(), taskId, null, batch);
      unstored = [];
      await publish(taskId, { stored: high });
      const [last] = await appendTaskLogs(deps(), taskId, null, lines(1, 'last'));
      await publish(taskId, { entries: [toTaskLogWire(last!)] });
      high = last!.seq;

      await waitFor(() => subscribers.every((one) => one.pump.entries.at(-1)?.seq === high), {
        message: `every subscriber reached seq ${high}`,
      });
      for (const one of subscribers) {
        expect(one.pump.entries.map((entry) => entry.seq)).toEqual(range(one.from + 1, high));
      }
      const slow = pump(slowTail);
      await waitFor(() => slow.entries.at(-1)?.seq === high, { message: 'the slow subscriber caught up' });
      expect(slow.entries.map((entry) => entry.seq)).toEqual(range(base + 1, high));
      await Promise.all(
        [slowTail, ...subscribers.map((one) => one.tail)].map((tail) => tail.return(undefined)),
      );
    },
  );

  it('a worker that dies between publish and commit: live readers keep the lines they saw, readers resuming before them get a placeholder per line, each seq once', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Lost worker', command: 'sleep 60' });
    const prisma = deps().prisma;
    const execution = await prisma.taskExecution.findFirstOrThrow({ where: { taskId, endedAt: null } });
    await prisma.codingTask.update({ where: { id: taskId }, data: { status: 'RUNNING' } });
    await prisma.taskExecution.update({
      where: { id: execution.id },
      data: { status: 'RUNNING', workerId: 'dead-worker', leaseExpiresAt: new Date(Date.now() + 60_000) },
    });
    const base = await prisma.taskLog.count({ where: { taskId } });
    const live = pump(await new TaskLogTails(deps()).tail(taskId, base));

    const stored = lines(3, 'kept');
    const first = await reserveTaskLogSeqs(deps(), taskId, 3);
    const keptRows = stored.map((entry, index) => ({ ...entry, seq: first + index }));
    await storeReservedTaskLogs(deps(), taskId, execution.id, keptRows);
    await publish(taskId, { entries: keptRows.map((row) => toTaskLogWire(storedRow(taskId, row))) });
    // The worker publishes five more and dies before storing them.
    const lost = await reserveAndPublish(taskId, 5, 'lost');
    await waitFor(() => live.entries.length === 8, { message: 'the live reader saw the published lines' });

    // A reader resuming from the start meanwhile stops at the hole: it never skips it.
    const resumedTails = new TaskLogTails(deps());
    const resumed = pump(await resumedTails.tail(taskId, base));
    await waitFor(() => resumed.entries.length === 3 && resumedTails.stats().reads > 0, {
      message: 'the resumed reader read up to the hole',
    });

    // The lease expires; recovery ends the execution and stores placeholders for the lost seqs.
    await prisma.taskExecution.update({
      where: { id: execution.id },
      data: { leaseExpiresAt: new Date(Date.now() - 1_000) },
    });
    expect(await recoverExpiredLeases(deps())).toBe(1);
    const end = lost[lost.length - 1]!.seq + 1; // the recovery's own note
    await waitFor(() => live.entries.at(-1)?.seq === end && resumed.entries.at(-1)?.seq === end, {
      message: 'both readers reached the recovery note',
    });

    expect(live.entries.map((entry) => entry.seq)).toEqual(range(base + 1, end));
    expect(resumed.entries.map((entry) => entry.seq)).toEqual(range(base + 1, end));
    expect(live.entries.slice(3, 8).map((entry) => entry.message)).toEqual(lost.map((row) => row.message));
    expect(resumed.entries.slice(3, 8).map((entry) => entry.message)).toEqual(
      Array(5).fill(LOST_LINE_MESSAGE),
    );
    const rows = await prisma.taskLog.findMany({ where: { taskId }, orderBy: { seq: 'asc' } });
    expect(rows.map((row) => row.seq)).toEqual(range(1, end));
    // A late writer of the lost execution (a zombie) cannot overwrite the placeholders.
    await storeReservedTaskLogs(deps(), taskId, execution.id, lost);
    const after = await prisma.taskLog.findMany({
      where: { taskId, seq: { in: lost.map((row) => row.seq) } },
    });
    expect(after.map((row) => row.message)).toEqual(Array(5).fill(LOST_LINE_MESSAGE));
  });
});
