import { startRedisServer, type TestRedisServer, userPrincipal, collectSubscription } from '@cap/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendTaskLogs } from '../src/logs/taskLogs.js';
import { toTaskLogWire } from '../src/domain/liveMessages.js';
import { LiveTopic } from '../src/live/LiveTopic.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

/** Subscribers poll this often while Redis is down (short, so the test sees several polls). */
const POLL_MS = 200;
const LINES = 50;

/** Subscribers Redis counts on `channel` (0 while nobody is subscribed, or while Redis is down). */
async function subscribers(redis: TestRedisServer, channel: string): Promise<number> {
  const client = new Redis(redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  try {
    await client.connect();
    const [, count] = (await client.pubsub('NUMSUB', channel)) as [string, number];
    return count;
  } catch {
    return 0;
  } finally {
    client.disconnect();
  }
}

describe('orchestration through a Redis outage', () => {
  let redis: TestRedisServer;
  let cluster: OrchestrationHarness;
  let node: Instance;
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startOrchestrationHarness({
      env: { REDIS_URL: redis.url, LIVE_POLL_INTERVAL_MS: String(POLL_MS) },
    });
    prefix = cluster.env['LIVE_CHANNEL_PREFIX']!;
    node = await cluster.start();
  });
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  it('runs a task created during the outage to SUCCEEDED; its log is served by polling, then live once Redis returns, without gap or duplicate', async () => {
    const alice = userPrincipal('DEVELOPER');
    await redis.stop();
    const started = Date.now();
    const taskId = await createTaskVia(node, alice, {
      title: 'Created while Redis is down',
      command: `for i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.1; done`,
    });
    // Nothing waits for Redis: the mutation answers promptly (generous bound, not a speed claim).
    expect(Date.now() - started).toBeLessThan(5_000);

    const lines = collectSubscription<{ seq: number; message: string }>(
      node.wsClient(userPrincipal('VIEWER')),
      `subscription($id: ID!) { taskLogs(taskId: $id) { seq message } }`,
      { id: taskId },
      'taskLogs',
    );
    // The task runs (it no longer waits for the live subscription) and its lines reach the subscriber by polling.
    await lines.until((events) => events.some((event) => event.message === 'line 5'), 20_000);
    expect(
      (await node.call(`query($id: ID!) { task(id: $id) { status } }`, { id: taskId }, alice)).data?.['task'],
    ).toEqual({ status: 'RUNNING' });

    await redis.start();
    const channel = `${prefix}${LiveTopic.taskLogs(taskId)}`;
    await waitFor(async () => (await subscribers(redis, channel)) >= 1, {
      message: 'the log channel subscribed again',
    });
    expect(await waitForStatus(node, taskId, ['SUCCEEDED', 'FAILED'], 30_000)).toBe('SUCCEEDED');

    const stored = await node.call<{
      taskLogs: { edges: Array<{ node: { seq: number; message: string } }> };
    }>(
      `query($id: ID!) { taskLogs(taskId: $id, first: 1000) { edges { node { seq message } } } }`,
      { id: taskId },
      alice,
    );
    const expected = stored.data!.taskLogs.edges.map((edge) => edge.node);
    for (let i = 1; i <= LINES; i += 1) expect(expected.map((entry) => entry.message)).toContain(`line ${i}`);
    await lines.until((events) => events.length >= expected.length, 20_000);
    // Every stored entry exactly once, in order: no gap across the switch from polling to Redis, no duplicate.
    expect(lines.events).toEqual(expected);

    // Polling has stopped: an entry stored without a live message stays unseen for several poll intervals ...
    const write = (message: string) =>
      appendTaskLogs(node.orchestration.deps, taskId, null, [
        { executionId: null, level: 'INFO', kind: 'MESSAGE', message, createdAt: new Date() },
      ]);
    const silent = await write('stored, not announced');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5));
    expect(lines.events).toHaveLength(expected.length);
    // ... and the next live message (through Redis) brings it and the hole before it.
    const announced = await write('announced');
    await node.orchestration.deps.live.publish(LiveTopic.taskLogs(taskId), {
      entries: announced.map(toTaskLogWire),
    });
    await lines.until((events) => events.length === expected.length + 2);
    expect(lines.events.slice(-2)).toEqual([
      { seq: silent[0]!.seq, message: 'stored, not announced' },
      { seq: announced[0]!.seq, message: 'announced' },
    ]);
    lines.stop();
  });

  it('answers /ready with 200 degraded naming Redis while it is down, details only for internal callers', async () => {
    await redis.stop();
    try {
      const internal = await fetch(`${node.orchestration.subgraph.url}/ready`);
      expect(internal.status).toBe(200);
      const body = (await internal.json()) as {
        status: string;
        degraded: string[];
        checks: Array<{ name: string; status: string; error?: string }>;
      };
      expect(body.status).toBe('degraded');
      expect(body.degraded).toContain('live:redis');
      expect(body.checks.find((check) => check.name === 'database')?.status).toBe('up');
      expect(body.checks.find((check) => check.name === 'live:redis')?.error).toEqual(expect.any(String));
      // Relayed by a proxy (not this host): the status only, no dependency names or error messages.
      const external = await fetch(`${node.orchestration.subgraph.url}/ready`, {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      expect(external.status).toBe(200);
      expect(await external.json()).toEqual({ service: 'orchestration', status: 'degraded' });
    } finally {
      await redis.start();
    }
    await waitFor(
      async () =>
        ((await (await fetch(`${node.orchestration.subgraph.url}/ready`)).json()) as { status: string })
          .status === 'ready',
      {
        message: 'ready again once Redis is back',
      },
    );
  });
});
