import { loadConfig as loadChatConfig, startChat } from '@cap/chat';
import { scopesForRole } from '@cap/runtime';
import {
  asRouter,
  graphql,
  TASK_LOG_BATCHES_SUBSCRIPTION,
  waitFor,
  type TaskLogBatchSelection,
} from '@cap/testkit';
import { describe, expect, it } from 'vitest';
import {
  db,
  secret,
  kv,
  bus,
  logger,
  chat,
  chatEnv,
  chatPort,
  alice,
  bob,
  replaceChat,
  bearer,
  call,
  wsClient,
  subscribe,
  until,
  sleep,
  MESSAGE_POSTED,
  POST,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * Resumption through the router: a chat subscription survives a restart of its chat instance, a taskLogs subscriber
 * resumes with afterSeq; no gap, no duplicate.
 */
useSubscriptionStack();

describe('resumption through the router', () => {
  it('resumes across a restart of the chat instance it subscribes through: no gap, no duplicate, the client socket stays open', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const client = wsClient(bearer(bob.token));
    const stream = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'before 1');
    await post(alice, conversationId, 'before 2');
    await stream.waitFor(2);

    // Another chat instance on the same database and Redis keeps taking posts while the first one is down.
    const other = await startChat({
      config: loadChatConfig(chatEnv),
      database: db.database,
      kv,
      bus,
      logger,
    });
    try {
      await chat.close();
      const principal = {
        kind: 'user' as const,
        userId: alice.id,
        role: 'DEVELOPER' as const,
        scopes: scopesForRole('DEVELOPER'),
      };
      for (const body of ['during 3', 'during 4']) {
        const result = await graphql(
          other.subgraph.graphqlUrl,
          POST,
          { input: { conversationId, body } },
          await asRouter(secret, principal),
        );
        expect(result.errors).toBeUndefined();
      }
      await sleep(300);
      replaceChat(
        await startChat({
          config: loadChatConfig({ ...chatEnv, PORT: String(chatPort) }),
          database: db.database,
          kv,
          bus,
          logger,
        }),
      );
      await post(alice, conversationId, 'after 5');
      await stream.waitFor(5, 15_000);
      await post(bob, conversationId, 'after 6');
      await stream.waitFor(6);
      await sleep(300);
      expect(stream.events.map((event) => `${event.seq} ${event.body}`)).toEqual([
        '1 before 1',
        '2 before 2',
        '3 during 3',
        '4 during 4',
        '5 after 5',
        '6 after 6',
      ]);
      expect(stream.events[2].author.user.displayName).toBe('Alice');
      expect(client.closes).toEqual([]);
      expect(stream.resultErrors).toEqual([]);
    } finally {
      await other.close();
    }
  }, 40_000);

  const TASK_LOGS = /* GraphQL */ `
    subscription ($taskId: ID!, $afterSeq: Int) {
      taskLogs(taskId: $taskId, afterSeq: $afterSeq) {
        seq
        kind
        message
      }
    }
  `;

  it('a taskLogs subscriber that disconnects and resumes with afterSeq gets every line exactly once; taskUpdated resolves the creator from identity', async () => {
    const { createTask } = await call(
      `mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      {
        input: {
          title: 'count to 300',
          command: 'for i in $(seq 1 300); do echo "line $i"; sleep 0.005; done',
          strategy: 'SINGLE_SHOT',
        },
      },
      alice.token,
    );
    const taskId = createTask.id as string;
    const updates = subscribe(
      wsClient(bearer(alice.token)),
      `subscription($id: ID!) { taskUpdated(taskId: $id) { id status creator { id displayName } } }`,
      { id: taskId },
      'taskUpdated',
    );
    const [first] = await updates.waitFor(1);
    expect(first.creator).toEqual({ id: alice.id, displayName: 'Alice' });

    const firstClient = wsClient(bearer(alice.token));
    const before = subscribe(firstClient, TASK_LOGS, { taskId }, 'taskLogs');
    await before.waitFor(50, 20_000);
    before.stop();
    const lastSeq = before.events.at(-1)!.seq as number;
    await firstClient.dispose();

    await until(
      () => updates.events.some((event) => event.status === 'SUCCEEDED'),
      30_000,
      () => `the task to succeed (${JSON.stringify(updates.events.map((event) => event.status))})`,
    );
    const { taskLogs } = await call(
      `query($id: ID!) { taskLogs(taskId: $id, last: 1) { edges { node { seq } } } }`,
      { id: taskId },
      alice.token,
    );
    const total = taskLogs.edges[0].node.seq as number;
    const after = subscribe(
      wsClient(bearer(alice.token)),
      TASK_LOGS,
      { taskId, afterSeq: lastSeq },
      'taskLogs',
    );
    await after.waitFor(total - lastSeq, 20_000);
    await sleep(300);

    const seqs = [...before.events, ...after.events].map((event) => event.seq as number);
    expect(seqs).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    const lines = [...before.events, ...after.events]
      .filter((event) => event.kind === 'COMMAND_OUTPUT')
      .map((event) => event.message);
    expect(lines).toEqual(Array.from({ length: 300 }, (_, index) => `line ${index + 1}`));
  }, 60_000);

  it('a taskLogBatches subscriber gets contiguous batches through the router and resumes after lastSeq with every line exactly once', async () => {
    const { createTask } = await call(
      `mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      {
        input: {
          title: 'count to 300 in batches',
          command: 'for i in $(seq 1 300); do echo "line $i"; sleep 0.005; done',
          strategy: 'SINGLE_SHOT',
        },
      },
      alice.token,
    );
    const taskId = createTask.id as string;
    const firstClient = wsClient(bearer(alice.token));
    const before = subscribe(firstClient, TASK_LOG_BATCHES_SUBSCRIPTION, { taskId }, 'taskLogBatches');
    await until(
      () =>
        before.events.reduce((sum, batch) => sum + (batch as TaskLogBatchSelection).entries.length, 0) >= 50,
      20_000,
      () => 'fifty lines in batches',
    );
    before.stop();
    const lastSeq = (before.events.at(-1) as TaskLogBatchSelection).lastSeq;
    await firstClient.dispose();

    let total = 0;
    await waitFor(
      async () => {
        const { task } = await call(
          `query($id: ID!) { task(id: $id) { status } }`,
          { id: taskId },
          alice.token,
        );
        if (task.status !== 'SUCCEEDED') return false;
        const { taskLogs } = await call(
          `query($id: ID!) { taskLogs(taskId: $id, last: 1) { edges { node { seq } } } }`,
          { id: taskId },
          alice.token,
        );
        total = taskLogs.edges[0].node.seq as number;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the task to succeed' },
    );
    const after = subscribe(
      wsClient(bearer(alice.token)),
      TASK_LOG_BATCHES_SUBSCRIPTION,
      { taskId, afterSeq: lastSeq },
      'taskLogBatches',
    );
    await until(
      () => (after.events.at(-1) as TaskLogBatchSelection | undefined)?.lastSeq === total,
      20_000,
      () => `batches up to seq ${total}`,
    );
    const batches = [...before.events, ...after.events] as TaskLogBatchSelection[];
    let last = 0;
    for (const batch of batches) {
      expect(batch.entries.map((entry) => entry.seq)).toEqual(
        Array.from({ length: batch.lastSeq - last }, (_, index) => last + index + 1),
      );
      last = batch.lastSeq;
    }
    expect(last).toBe(total);
    const lines = batches
      .flatMap((batch) => batch.entries)
      .filter((entry) => entry.kind === 'COMMAND_OUTPUT')
      .map((entry) => entry.message);
    expect(lines).toEqual(Array.from({ length: 300 }, (_, index) => `line ${index + 1}`));
    expect(after.resultErrors).toEqual([]);
  }, 60_000);
});
