import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendTaskLogs } from '../src/domain/taskLogs.js';
import { toTaskLogWire } from '../src/domain/wire.js';
import { LiveChannel } from '../src/live/LiveBus.js';
import { MemoryLiveBus } from '../src/live/MemoryLiveBus.js';
import { RedisLiveBus } from '../src/live/RedisLiveBus.js';
import { collect, createTaskVia, REDIS_URL, startCluster, user, waitFor, type Cluster, type Instance } from './harness.js';

const admin = new Redis(REDIS_URL);
afterAll(() => admin.disconnect());

/** Kills the Redis connections of live buses whose channel prefix is `prefix` (as a network failure would). */
async function killSubscriberConnections(prefix: string): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${prefix}live-subscriber `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
  for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

describe('Redis live bus', () => {
  it('fans a message out to every subscriber on every instance, in order, once per subscription', async () => {
    const prefix = `test:${randomUUID()}:`;
    const one = new RedisLiveBus(REDIS_URL, { prefix });
    const two = new RedisLiveBus(REDIS_URL, { prefix });
    try {
      const got: Record<string, unknown[]> = { a: [], b: [], c: [] };
      const subscriptions = [
        await one.subscribe('ch', (message) => got['a']!.push(message)),
        await two.subscribe('ch', (message) => got['b']!.push(message)),
        await two.subscribe('ch', (message) => got['c']!.push(message)),
      ];
      expect(((await admin.pubsub('NUMSUB', `${prefix}ch`)) as [string, number])[1]).toBe(2);
      for (let n = 0; n < 20; n += 1) await one.publish('ch', { n, at: new Date(0) });
      await waitFor(() => Object.values(got).every((messages) => messages.length === 20), { message: '20 messages each' });
      for (const messages of Object.values(got)) expect(messages).toEqual(Array.from({ length: 20 }, (_, n) => ({ n, at: '1970-01-01T00:00:00.000Z' })));
      for (const subscription of subscriptions) await subscription.close();
      await waitFor(async () => ((await admin.pubsub('NUMSUB', `${prefix}ch`)) as [string, number])[1] === 0, { message: 'unsubscribed' });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('reports a gap when its connection drops, and delivers again after reconnecting', async () => {
    const prefix = `test:${randomUUID()}:`;
    const bus = new RedisLiveBus(REDIS_URL, { prefix });
    try {
      const got: unknown[] = [];
      let gaps = 0;
      await bus.subscribe('ch', (message) => got.push(message), () => (gaps += 1));
      expect(await killSubscriberConnections(prefix)).toBe(1);
      await waitFor(() => gaps === 1, { message: 'a gap notice' });
      await waitFor(async () => ((await admin.pubsub('NUMSUB', `${prefix}ch`)) as [string, number])[1] === 1, { message: 'resubscribed' });
      await bus.publish('ch', { after: true });
      await waitFor(() => got.length === 1, { message: 'delivery after the reconnect' });
    } finally {
      await bus.close();
    }
  });

  it('behaves the same in memory: JSON copies, per subscription, nothing after close', async () => {
    const bus = new MemoryLiveBus();
    const got: unknown[] = [];
    const date = new Date(0);
    const subscription = await bus.subscribe('ch', (message) => got.push(message));
    await bus.publish('ch', { date });
    await subscription.close();
    await bus.publish('ch', { date });
    expect(got).toEqual([{ date: '1970-01-01T00:00:00.000Z' }]);
  });
});

describe('taskLogs across a Redis reconnect', () => {
  let cluster: Cluster;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    cluster = await startCluster({ env: { WORKER_CONCURRENCY: '0' } });
    a = await cluster.start();
    b = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('re-reads the lines published while the subscriber’s Redis connection was down', async () => {
    const alice = user('DEVELOPER');
    const taskId = await createTaskVia(a, alice, { title: 'Logged by hand' });
    const write = async (messages: string[]) => {
      const entries = await appendTaskLogs(a.orchestration.deps, taskId, null, messages.map((message) => ({ executionId: null, level: 'INFO' as const, kind: 'MESSAGE' as const, message, createdAt: new Date() })));
      await a.orchestration.deps.live.publish(LiveChannel.taskLogs(taskId), { entries: entries.map(toTaskLogWire) });
    };
    await write(['one', 'two']);
    const lines = collect<{ seq: number; message: string }>(
      b.wsClient(user('VIEWER')),
      `subscription($id: ID!) { taskLogs(taskId: $id) { seq message } }`,
      { id: taskId },
      'taskLogs',
    );
    await lines.until((events) => events.length === 2);
    await write(['three']);
    await lines.until((events) => events.length === 3);
    // Both instances share the prefix: only B has subscriptions (A publishes only).
    expect(await killSubscriberConnections(cluster.env['LIVE_CHANNEL_PREFIX']!)).toBeGreaterThanOrEqual(1);
    // Published while B is disconnected: lost for B's connection, and nothing is written after it.
    await write(['four', 'five']);
    await lines.until((events) => events.length === 5, 10_000);
    expect(lines.events).toEqual(['one', 'two', 'three', 'four', 'five'].map((message, index) => ({ seq: index + 1, message })));
    lines.dispose();
  });
});
