import { Redis } from 'ioredis';
import { userPrincipal, collectSubscription } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendTaskLogs } from '../src/logs/taskLogs.js';
import { toTaskLogWire } from '../src/domain/liveMessages.js';
import { LiveTopic } from '../src/live/LiveTopic.js';
import {
  createTaskVia,
  REDIS_URL,
  startOrchestrationHarness,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

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

describe('taskLogs across a Redis reconnect', () => {
  let cluster: OrchestrationHarness;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '0' } });
    a = await cluster.start();
    b = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('re-reads the lines published while the subscriber’s Redis connection was down', async () => {
    const alice = userPrincipal('DEVELOPER');
    const taskId = await createTaskVia(a, alice, { title: 'Logged by hand' });
    const write = async (messages: string[]) => {
      const entries = await appendTaskLogs(
        a.orchestration.deps,
        taskId,
        null,
        messages.map((message) => ({
          executionId: null,
          level: 'INFO' as const,
          kind: 'MESSAGE' as const,
          message,
          createdAt: new Date(),
        })),
      );
      await a.orchestration.deps.live.publish(LiveTopic.taskLogs(taskId), {
        entries: entries.map(toTaskLogWire),
      });
    };
    await write(['one', 'two']);
    const lines = collectSubscription<{ seq: number; message: string }>(
      b.wsClient(userPrincipal('VIEWER')),
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
    expect(lines.events).toEqual(
      ['one', 'two', 'three', 'four', 'five'].map((message, index) => ({ seq: index + 1, message })),
    );
    lines.stop();
  });
});
