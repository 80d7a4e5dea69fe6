import { randomUUID } from 'node:crypto';
import {
  collectSubscription,
  seededInts,
  TASK_LOG_BATCHES_SUBSCRIPTION,
  userPrincipal,
  type TaskLogBatchSelection,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskLogTails, type TaskLogBatch } from '../src/logs/taskLogTail.js';
import type { TaskLog } from '../src/generated/prisma/client.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';
import { publishTaskLogs, storeAndPublishCrossed, storeTaskLogs } from './taskLogWrites.js';

// `taskLogBatches`: the shared tail's batched reader (every entry once, in order, contiguous batches that grow
// for a subscriber that does not pull and stay small for one that does), and the subscription over GraphQL with
// the same authorization and argument checks as `taskLogs`.
let cluster: OrchestrationHarness;
let instance: Instance;
const alice = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  instance = await cluster.start({ WORKER_CONCURRENCY: '1', TASK_LOG_BATCH_MAX: '50' });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

function deps() {
  return instance.orchestration.deps;
}

/** Pulls batches until `count` entries arrived; fails after a bound instead of hanging. */
async function take(
  tail: AsyncGenerator<TaskLogBatch>,
  count: number,
  timeoutMs = 20_000,
): Promise<TaskLogBatch[]> {
  const batches: TaskLogBatch[] = [];
  let entries = 0;
  const deadline = Date.now() + timeoutMs;
  while (entries < count) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      tail.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') throw new Error(`timed out after ${entries} of ${count} entries`);
    if (next.done) throw new Error(`tail ended after ${entries} of ${count} entries`);
    batches.push(next.value);
    entries += next.value.entries.length;
  }
  return batches;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
const seqsOf = (batches: TaskLogBatch[]) =>
  batches.flatMap((batch) => batch.entries.map((entry) => entry.seq));

/** Every batch is non-empty, contiguous, ends at its `lastSeq`, and starts right after the previous one. */
function expectWellFormed(batches: TaskLogBatch[], afterSeq: number, max: number): void {
  let last = afterSeq;
  for (const batch of batches) {
    expect(batch.entries.length).toBeGreaterThan(0);
    expect(batch.entries.length).toBeLessThanOrEqual(max);
    expect(batch.entries.map((entry) => entry.seq)).toEqual(range(last + 1, batch.lastSeq));
    last = batch.lastSeq;
  }
}

describe('batched task log tail', () => {
  it('gives 20 subscribers every entry once in contiguous batches, shares batch objects, and reads each hole once', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Batched', command: 'true' });
    await waitForStatus(instance, taskId, ['SUCCEEDED']);
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps(), { maxBatch: 7 });
    const subscribers = await Promise.all(Array.from({ length: 20 }, () => tails.tailBatches(taskId, 0)));
    const replayed = await Promise.all(subscribers.map((tail) => take(tail, base)));
    for (const batches of replayed) {
      expectWellFormed(batches, 0, 7);
      expect(seqsOf(batches)).toEqual(range(1, base));
    }
    const readsBefore = tails.stats().reads;

    // Crossed batches: the hole before the third is read from the database once, by the shared tail.
    await storeAndPublishCrossed(instance, taskId);
    const live = await Promise.all(subscribers.map((tail) => take(tail, 30)));
    for (const batches of live) {
      expectWellFormed(batches, base, 7);
      expect(seqsOf(batches)).toEqual(range(base + 1, base + 30));
    }
    expect(tails.stats().reads - readsBefore).toBeLessThanOrEqual(4);
    // Subscribers at the same position received the very same batch objects (executed once per operation).
    const firstBatches = new Set(live.map((batches) => batches[0]));
    expect(firstBatches.size).toBeLessThan(live.length);

    await Promise.all(subscribers.map((tail) => tail.return(undefined)));
    await waitFor(() => tails.stats().tails === 0, { message: 'the shared tail closed' });
  });

  it('hands a subscriber that did not pull one large batch (up to the cap), and one that keeps up what is ready', async () => {
    const taskId = await createTaskVia(instance, alice, { title: 'Slow and fast', command: 'true' });
    await waitForStatus(instance, taskId, ['SUCCEEDED']);
    const base = await deps().prisma.taskLog.count({ where: { taskId } });
    const tails = new TaskLogTails(deps(), { maxBatch: 25, window: 1_000 });
    const slow = await tails.tailBatches(taskId, base);
    const fast = await tails.tailBatches(taskId, base);
    for (let round = 0; round < 6; round += 1) {
      await publishTaskLogs(instance, taskId, await storeTaskLogs(instance, taskId, 5, `round ${round}`));
      // The fast subscriber takes each published batch as soon as it is there: 5 entries, never more.
      const batches = await take(fast, 5);
      expect(batches.map((batch) => batch.entries.length)).toEqual([5]);
    }
    // 30 entries went by while the slow one did not pull: it gets them as a 25-entry batch and the remaining 5.
    const caughtUp = await take(slow, 30);
    expect(caughtUp.map((batch) => batch.entries.length)).toEqual([25, 5]);
    expectWellFormed(caughtUp, base, 25);
    // A late subscriber far behind the window replays from the database in capped batches, from its afterSeq.
    const late = await new TaskLogTails(deps(), { maxBatch: 4 }).tailBatches(taskId, base + 3);
    const replay = await take(late, 27);
    expectWellFormed(replay, base + 3, 4);
    expect(seqsOf(replay)).toEqual(range(base + 4, base + 30));
    await Promise.all([slow, fast, late].map((tail) => tail.return(undefined)));
  });

  it('keeps batches contiguous and complete over generated publish orders, losses, batch caps and paces', async () => {
    // Seeded: the same cases on every run, many shapes of crossing and loss.
    const random = seededInts(0x2f6b_1d3a);
    for (let round = 0; round < 4; round += 1) {
      const taskId = await createTaskVia(instance, alice, { title: `Generated ${round}`, command: 'true' });
      await waitForStatus(instance, taskId, ['SUCCEEDED']);
      const base = await deps().prisma.taskLog.count({ where: { taskId } });
      const tails = new TaskLogTails(deps(), { window: 8 + random(40) });
      const caps = [1 + random(3), 1 + random(10), 1 + random(60)];
      const readers = await Promise.all(caps.map((cap) => tails.tailBatches(taskId, base, cap)));
      const stored: TaskLog[][] = [];
      for (let batch = 0; batch < 6 + random(6); batch += 1)
        stored.push(await storeTaskLogs(instance, taskId, 1 + random(12), `r${round}b${batch}`));
      // Published in a shuffled order, and about one batch in four never published (a lost notification); the
      // newest batch always is, as the bus only hints: a hole is noticed when something after it arrives.
      const order = stored.map((_, index) => index).sort(() => random(3) - 1);
      const total = stored.reduce((sum, entries) => sum + entries.length, 0);
      const received = readers.map(() => [] as TaskLogBatch[]);
      const count = (batches: TaskLogBatch[]) =>
        batches.reduce((sum, batch) => sum + batch.entries.length, 0);
      let published = base;
      // The first reader pulls after publishes (while entries up to the newest published one are due to it); the
      // others only at the end (they fell behind).
      for (const index of order) {
        if (random(4) > 0 || index === stored.length - 1) {
          await publishTaskLogs(instance, taskId, stored[index]!);
          published = Math.max(published, stored[index]!.at(-1)!.seq);
        }
        if (count(received[0]!) < published - base && random(2) === 0)
          received[0]!.push(...(await take(readers[0]!, 1)));
      }
      for (const [index, reader] of readers.entries()) {
        const have = count(received[index]!);
        if (have < total) received[index]!.push(...(await take(reader, total - have)));
      }
      for (const [index, batches] of received.entries()) {
        expectWellFormed(batches, base, caps[index]!);
        expect(seqsOf(batches)).toEqual(range(base + 1, base + total));
      }
      await Promise.all(readers.map((reader) => reader.return(undefined)));
    }
  }, 120_000);
});

describe('taskLogBatches subscription', () => {
  it('delivers a running task’s whole log in order in batches of at most TASK_LOG_BATCH_MAX, and resumes after lastSeq', async () => {
    const id = await createTaskVia(instance, alice, { title: 'Burst', command: 'seq 1 400' });
    const first = collectSubscription<TaskLogBatchSelection>(
      instance.wsClient(viewer),
      TASK_LOG_BATCHES_SUBSCRIPTION,
      { taskId: id },
      'taskLogBatches',
    );
    await first.until(
      (batches) => batches.reduce((sum, batch) => sum + batch.entries.length, 0) >= 100,
      30_000,
    );
    first.stop();
    // Resume from a point well before the end (the first feed may have read to the end before it stopped): its
    // batches up to seq 100, a prefix, since a batch holds at most 50 entries from seq 1.
    const kept = first.events.filter((batch) => batch.lastSeq <= 100);
    const lastSeq = kept.at(-1)!.lastSeq;
    await waitForStatus(instance, id, ['SUCCEEDED']);
    const total = await deps().prisma.taskLog.count({ where: { taskId: id } });
    const second = collectSubscription<TaskLogBatchSelection>(
      instance.wsClient(viewer),
      TASK_LOG_BATCHES_SUBSCRIPTION,
      { taskId: id, afterSeq: lastSeq },
      'taskLogBatches',
    );
    await second.until((batches) => batches.at(-1)?.lastSeq === total, 30_000);
    second.stop();
    const batches = [...kept, ...second.events];
    let last = 0;
    for (const batch of batches) {
      expect(batch.entries.length).toBeGreaterThan(0);
      expect(batch.entries.length).toBeLessThanOrEqual(50);
      expect(batch.entries.map((entry) => entry.seq)).toEqual(range(last + 1, batch.lastSeq));
      last = batch.lastSeq;
    }
    expect(last).toBe(total);
    const output = batches
      .flatMap((batch) => batch.entries)
      .filter((entry) => entry.kind === 'COMMAND_OUTPUT')
      .map((entry) => entry.message);
    expect(output).toEqual(range(1, 400).map(String));
    expect([...first.errors, ...second.errors]).toEqual([]);
  }, 90_000);

  it('refuses exactly as taskLogs does: no tasks:read, unknown or malformed task, negative or non-integer afterSeq', async () => {
    const id = await createTaskVia(instance, alice, { title: 'Guarded batches', command: 'true' });
    const cases: Array<[string, ReturnType<typeof instance.wsClient>, Record<string, unknown>]> = [
      ['anonymous', instance.wsClient({ kind: 'anonymous' }), { taskId: id }],
      ['unknown task', instance.wsClient(viewer), { taskId: randomUUID() }],
      ['malformed id', instance.wsClient(viewer), { taskId: 'x'.repeat(10_000) }],
      ['negative afterSeq', instance.wsClient(viewer), { taskId: id, afterSeq: -1 }],
      ['afterSeq beyond Int', instance.wsClient(viewer), { taskId: id, afterSeq: 2 ** 40 }],
      ['afterSeq not a number', instance.wsClient(viewer), { taskId: id, afterSeq: '1; DROP TABLE x' }],
    ];
    const codesOf = async (query: string, field: string) => {
      const subscriptions = cases.map(([, client, variables]) =>
        collectSubscription(client, query, variables, field),
      );
      await waitFor(() => subscriptions.every((subscription) => subscription.errors.length > 0), {
        message: `${field}: every hostile subscription refused`,
        timeoutMs: 20_000,
      });
      return subscriptions.map((subscription) =>
        (subscription.errors.flat() as Array<{ extensions?: { code?: string } }>).map(
          (error) => error.extensions?.code,
        ),
      );
    };
    const batched = await codesOf(TASK_LOG_BATCHES_SUBSCRIPTION, 'taskLogBatches');
    expect(batched).toEqual([
      ['UNAUTHENTICATED'],
      ['NOT_FOUND'],
      ['BAD_USER_INPUT'],
      ['BAD_USER_INPUT'],
      ['BAD_USER_INPUT'],
      ['BAD_USER_INPUT'],
    ]);
    const perLine = await codesOf(
      `subscription ($taskId: ID!, $afterSeq: Int) { taskLogs(taskId: $taskId, afterSeq: $afterSeq) { seq } }`,
      'taskLogs',
    );
    expect(batched).toEqual(perLine);
  }, 60_000);
});
