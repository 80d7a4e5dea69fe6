import { randomUUID } from 'node:crypto';
import { userPrincipal, collectSubscription } from '@cap/testkit';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createTaskVia,
  REDIS_URL,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// Instance A runs the work; instance B only serves the graph. Subscribers connect to B and must see what A's
// worker writes: the lines travel through PostgreSQL and Redis pub/sub, never through one process's memory.
let cluster: OrchestrationHarness;
let a: Instance;
let b: Instance;
const alice = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  a = await cluster.start({ WORKER_CONCURRENCY: '2' });
  b = await cluster.start({ WORKER_CONCURRENCY: '0' });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const TASK_LOGS = /* GraphQL */ `
  subscription ($taskId: ID!, $afterSeq: Int) {
    taskLogs(taskId: $taskId, afterSeq: $afterSeq) {
      seq
      kind
      message
      taskId
    }
  }
`;

type Line = { seq: number; kind: string; message: string };

describe('taskLogs subscription', () => {
  it('replays, tails lines written on another instance, and resumes after a disconnect with every line exactly once', async () => {
    const id = await createTaskVia(b, alice, {
      title: 'Chatty',
      command: 'for i in $(seq 1 60); do echo "line $i"; sleep 0.04; done',
    });

    const first = collectSubscription<Line>(
      b.wsClient(viewer),
      TASK_LOGS,
      { taskId: id, afterSeq: 0 },
      'taskLogs',
    );
    await first.until((events) => events.filter((event) => event.kind === 'COMMAND_OUTPUT').length >= 10);
    const redis = new Redis(REDIS_URL);
    const channel = `${cluster.env['LIVE_CHANNEL_PREFIX']}task-logs:${id}`;
    const subscribers = async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1];
    // B holds one Redis subscription for the channel, however many local subscribers it has.
    expect(await subscribers()).toBe(1);
    first.stop();
    const received = [...first.events];
    const lastSeq = received.at(-1)!.seq;
    // Lines keep coming while nobody listens.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const second = collectSubscription<Line>(
      b.wsClient(viewer),
      TASK_LOGS,
      { taskId: id, afterSeq: lastSeq },
      'taskLogs',
    );
    await second.until((events) => events.some((event) => /exited with code 0/.test(event.message)), 20_000);
    await waitForStatus(a, id, ['SUCCEEDED']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    second.stop();

    const all = [...received, ...second.events];
    const stored = await a.orchestration.deps.prisma.taskLog.findMany({
      where: { taskId: id },
      orderBy: { seq: 'asc' },
    });
    expect(all.map((line) => line.seq)).toEqual(stored.map((line) => line.seq));
    expect(all.map((line) => line.seq)).toEqual(stored.map((_, index) => index + 1));
    const output = all.filter((line) => line.kind === 'COMMAND_OUTPUT').map((line) => line.message);
    expect(output).toEqual(Array.from({ length: 60 }, (_, n) => `line ${n + 1}`));
    expect(second.events[0]!.seq).toBe(lastSeq + 1);
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);

    // Unsubscribing released B's Redis subscription of the task's log channel.
    try {
      await waitFor(async () => (await subscribers()) === 0, { message: 'no Redis subscriber left' });
    } finally {
      redis.disconnect();
    }
  });

  it('replays the whole log of a finished task in order, from any afterSeq', async () => {
    const id = await createTaskVia(b, alice, { title: 'Done', command: 'seq 1 700' });
    await waitForStatus(a, id, ['SUCCEEDED']);
    const total = await a.orchestration.deps.prisma.taskLog.count({ where: { taskId: id } });
    expect(total).toBeGreaterThan(700);
    const whole = collectSubscription<Line>(b.wsClient(viewer), TASK_LOGS, { taskId: id }, 'taskLogs');
    await whole.until((events) => events.length === total);
    expect(whole.events.map((line) => line.seq)).toEqual(Array.from({ length: total }, (_, n) => n + 1));
    whole.stop();
    const tail = collectSubscription<Line>(
      b.wsClient(viewer),
      TASK_LOGS,
      { taskId: id, afterSeq: total - 3 },
      'taskLogs',
    );
    await tail.until((events) => events.length === 3);
    expect(tail.events.map((line) => line.seq)).toEqual([total - 2, total - 1, total]);
    tail.stop();
  });

  it('refuses callers without tasks:read, unknown tasks and negative afterSeq with coded errors', async () => {
    const id = await createTaskVia(b, alice, { title: 'Guarded', command: 'true' });
    const anonymous = collectSubscription(
      b.wsClient({ kind: 'anonymous' }),
      TASK_LOGS,
      { taskId: id },
      'taskLogs',
    );
    const unknown = collectSubscription(b.wsClient(viewer), TASK_LOGS, { taskId: randomUUID() }, 'taskLogs');
    const negative = collectSubscription(
      b.wsClient(viewer),
      TASK_LOGS,
      { taskId: id, afterSeq: -1 },
      'taskLogs',
    );
    const code = (subscription: { errors: unknown[] }) =>
      (subscription.errors.flat() as Array<{ extensions?: { code?: string } }>).map(
        (error) => error.extensions?.code,
      );
    await waitFor(
      () => [anonymous, unknown, negative].every((subscription) => subscription.errors.length > 0),
      { message: 'three refusals' },
    );
    expect(code(anonymous)).toEqual(['UNAUTHENTICATED']);
    expect(code(unknown)).toEqual(['NOT_FOUND']);
    expect(code(negative)).toEqual(['BAD_USER_INPUT']);
  });

  it('closes a connection that does not carry a valid router token', async () => {
    const url = b.orchestration.subgraph.graphqlUrl.replace(/^http/, 'ws');
    const closed = await new Promise<number>((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        connectionParams: { routerToken: 'forged' },
        retryAttempts: 0,
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe(
        { query: TASK_LOGS, variables: { taskId: randomUUID() } },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
    });
    expect(closed).toBe(4403);
  });
});

describe('task change subscriptions', () => {
  it('taskUpdated emits the current state, then every change in version order with fresh nested data', async () => {
    const id = await createTaskVia(b, alice, { title: 'Watched', command: 'sleep 0.3; echo done' });
    const updates = collectSubscription<{
      status: string;
      version: number;
      executions: Array<{ status: string }>;
    }>(
      b.wsClient(viewer),
      `subscription($id: ID!) { taskUpdated(taskId: $id) { status version executions { status } } }`,
      { id },
      'taskUpdated',
    );
    await updates.until((events) => events.some((event) => event.status === 'SUCCEEDED'));
    updates.stop();
    const versions = updates.events.map((event) => event.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    const last = updates.events.at(-1)!;
    expect(last).toMatchObject({ status: 'SUCCEEDED', executions: [{ status: 'SUCCEEDED' }] });
    expect(updates.events.map((event) => event.status)).toContain('RUNNING');
  });

  it('tasksChanged reports tasks entering and leaving a filter', async () => {
    const bob = userPrincipal('DEVELOPER');
    const changes = collectSubscription<{
      task: { id: string; status: string };
      previousStatus: string | null;
      inFilter: boolean;
    }>(
      b.wsClient(viewer),
      `subscription($filter: TaskFilter) { tasksChanged(filter: $filter) { task { id status } previousStatus inFilter } }`,
      { filter: { status: ['RUNNING'], creatorId: bob.userId } },
      'tasksChanged',
    );
    // Give the subscription a moment to be established before the first change.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const id = await createTaskVia(b, bob, { title: 'Filtered', command: 'sleep 0.2' });
    const others = await createTaskVia(b, alice, { title: 'Not Bob', command: 'true' });
    await changes.until((events) => events.some((event) => event.task.id === id && !event.inFilter));
    await waitForStatus(a, others, ['SUCCEEDED']);
    changes.stop();
    expect(changes.events.map((event) => [event.task.status, event.previousStatus, event.inFilter])).toEqual([
      ['RUNNING', 'QUEUED', true],
      ['SUCCEEDED', 'RUNNING', false],
    ]);
    expect(changes.events.every((event) => event.task.id === id)).toBe(true);
    const invalid = collectSubscription(
      b.wsClient(viewer),
      `subscription { tasksChanged(filter: { creatorId: "nope" }) { inFilter } }`,
      {},
      'tasksChanged',
    );
    await waitFor(() => invalid.errors.length > 0, { message: 'refusal' });
    expect(JSON.stringify(invalid.errors)).toContain('BAD_USER_INPUT');
  });
});
