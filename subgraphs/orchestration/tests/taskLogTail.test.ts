import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal } from '@cap/testkit';
import { TaskLogTails } from '../src/logs/taskLogTail.js';
import type { TaskLog } from '../src/generated/prisma/client.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';
import { publishTaskLogs, storeAndPublishCrossed, storeTaskLogs } from './taskLogWrites.js';

// The shared tail on real PostgreSQL and Redis pub/sub: live batches are published by hand, in the orders that
// happen between several writers (crossed, lost), to check that every subscriber still sees each entry once, in
// order, and that the database is read once per hole, not once per subscriber.
let cluster: OrchestrationHarness;
let instance: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  // No workers: the tasks stay queued and only this test writes their logs.
  instance = await cluster.start({ WORKER_CONCURRENCY: '0' });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

function deps() {
  return instance.orchestration.deps;
}

/** Pulls entries from a tail until `count` arrived; fails after a bound instead of hanging. */
async function take(tail: AsyncGenerator<TaskLog>, count: number, timeoutMs = 10_000): Promise<number[]> {
  const seqs: number[] = [];
  const deadline = Date.now() + timeoutMs;
  while (seqs.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      tail.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (next === 'timeout')
      throw new Error(`timed out after ${seqs.length} of ${count} entries: ${seqs.join(',')}`);
    if (next.done) throw new Error(`tail ended after ${seqs.length} of ${count} entries`);
    seqs.push(next.value.seq);
  }
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('shared task log tail', () => {
  it('gives 50 subscribers every entry once, in order, when live batches cross or are lost, reading each hole once', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Crossed batches', command: 'true' });
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps());
    const subscribers = await Promise.all(Array.from({ length: 50 }, () => tails.tail(taskId, 0)));
    // Every subscriber replays what is stored, then waits at its end.
    if (base > 0) await Promise.all(subscribers.map((tail) => take(tail, base)));
    expect(tails.stats()).toMatchObject({ tails: 1, subscribers: 50 });
    const readsBefore = tails.stats().reads;

    // The third writer's batch arrives first: the hole before it is read from the database, once.
    await storeAndPublishCrossed(instance, taskId);
    const received = await Promise.all(subscribers.map((tail) => take(tail, 30)));
    for (const seqs of received) expect(seqs).toEqual(range(base + 1, base + 30));

    // Two batches whose notifications never arrive (a Redis hiccup), then one that does.
    await storeTaskLogs(instance, taskId, 10, 'd');
    await storeTaskLogs(instance, taskId, 10, 'e');
    await publishTaskLogs(instance, taskId, await storeTaskLogs(instance, taskId, 10, 'f'));
    const after = await Promise.all(subscribers.map((tail) => take(tail, 30)));
    for (const seqs of after) expect(seqs).toEqual(range(base + 31, base + 60));

    // Two holes, read once each by the shared tail: never once per subscriber.
    expect(tails.stats().reads - readsBefore).toBeLessThanOrEqual(4);

    await Promise.all(subscribers.map((tail) => tail.return(undefined)));
    expect(tails.stats()).toEqual({ tails: 0, subscribers: 0, reads: tails.stats().reads });
  });

  it('reads a hole that stays unstored about once a second, however many live batches arrive meanwhile', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Unstored hole', command: 'true' });
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps());
    const tail = await tails.tail(taskId, 0);
    if (base > 0) await take(tail, base);
    // Live entries from base + 2 on, with base + 1 published by no one and stored by no one: a writer that died
    // between publishing and storing. Every batch after the first finds the hole still there.
    const stored = await storeTaskLogs(instance, taskId, 1, 'stored');
    await publishTaskLogs(instance, taskId, stored);
    const template = stored[0]!;
    expect(await take(tail, 1)).toEqual([template.seq]);
    const hole = template.seq + 1;
    const batches = 25;
    for (let batch = 0; batch < batches; batch++) {
      const entry = { ...template, seq: hole + 1 + batch, message: `beyond the hole ${batch}` };
      await publishTaskLogs(instance, taskId, [entry]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => (tails.stats().reads > 0 ? true : undefined));
    const settled = tails.stats().reads;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // One fallback read per second at most (two or three in 2.5 s), not one per batch that arrived.
    expect(tails.stats().reads - settled).toBeLessThanOrEqual(4);
    await tail.return(undefined);
  });

  it('serves a subscriber that fell behind the window from the database, and a late one from any afterSeq', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Slow reader', command: 'true' });
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps(), { window: 8 });
    const fast = await tails.tail(taskId, base);
    const slow = await tails.tail(taskId, base);
    for (let batch = 0; batch < 12; batch += 1) {
      await publishTaskLogs(instance, taskId, await storeTaskLogs(instance, taskId, 5, `batch ${batch}`));
    }
    expect(await take(fast, 60)).toEqual(range(base + 1, base + 60));
    // `slow` did not pull while 60 entries went by a window of 8: it reads the older ones from the database.
    expect(await take(slow, 60)).toEqual(range(base + 1, base + 60));
    const late = await tails.tail(taskId, base + 25);
    expect(await take(late, 35)).toEqual(range(base + 26, base + 60));
    await publishTaskLogs(instance, taskId, await storeTaskLogs(instance, taskId, 3, 'more'));
    const [a, b, c] = await Promise.all([take(fast, 3), take(slow, 3), take(late, 3)]);
    expect([a, b, c]).toEqual([
      range(base + 61, base + 63),
      range(base + 61, base + 63),
      range(base + 61, base + 63),
    ]);
    await Promise.all([fast, slow, late].map((tail) => tail.return(undefined)));
  });

  it('ends a waiting subscriber promptly when it unsubscribes, and releases the live subscription', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Quiet', command: 'true' });
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps());
    const tail = await tails.tail(taskId, base);
    const pending = tail.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await tail.return(undefined);
    await expect(pending).resolves.toMatchObject({ done: true });
    await waitFor(() => tails.stats().tails === 0, { message: 'the shared tail closed' });
    // A new subscriber opens a fresh shared tail and still sees new entries.
    const again = await tails.tail(taskId, base);
    await publishTaskLogs(instance, taskId, await storeTaskLogs(instance, taskId, 2, 'again'));
    expect(await take(again, 2)).toEqual(range(base + 1, base + 2));
    await again.return(undefined);
  });
});
