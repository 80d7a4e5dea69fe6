import { randomUUID } from 'node:crypto';
import { TaskClassified } from '@cap/events';
import { DlqHeader, EventHeader, KafkaEventBus, toBusRecord, type BusRecord } from '@cap/messaging';
import { consumeUntil, kafkaBrokersFromEnv, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

/**
 * Real Kafka end to end: events leave through the outbox relay onto `orchestration.task` / `orchestration.tasklog`;
 * TaskClassified arrives from Kafka through the idempotent consumer; poison lands on the dead-letter topic; and
 * with the broker unreachable, events wait in the outbox until a relay can publish them.
 */
const brokers = kafkaBrokersFromEnv();
let cluster: OrchestrationHarness;
let node: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  const bus = new KafkaEventBus({ brokers, clientId: 'orchestration-e2e' });
  cluster = await startOrchestrationHarness({
    bus,
    // Consumer groups are shared on the broker: stay out of the chat-message group, whose owner
    // (platform/tests/agentInChat.test.ts) may run at the same time.
    env: { WORKER_CONCURRENCY: '1', CLASSIFICATION_TIMEOUT_MS: '60000', CHAT_AGENT_ENABLED: 'false' },
  });
  node = await cluster.start();
  await node.orchestration.consumerReady;
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

function eventsOf(
  records: readonly { headers: Record<string, string>; key: string }[],
  taskId: string,
): string[] {
  return records
    .filter((record) => record.key === taskId)
    .map((record) => record.headers[EventHeader.EVENT_TYPE]!);
}

describe('orchestration on Kafka', () => {
  it('publishes TaskCreated, applies TaskClassified from Kafka, runs the task and publishes TaskStarted, TaskLogAppended and TaskCompleted', async () => {
    const id = await createTaskVia(node, alice, { title: 'Kafka round trip', command: 'echo one; echo two' });
    const created = await consumeUntil({
      brokers,
      topics: ['orchestration.task'],
      until: (seen) => eventsOf(seen, id).includes('TaskCreated'),
    });
    const envelope = JSON.parse(created.find((record) => record.key === id)!.value);
    expect(envelope).toMatchObject({
      type: 'TaskCreated',
      version: 1,
      source: 'orchestration',
      payload: { taskId: id, status: 'CLASSIFYING', creatorId: alice.userId },
    });
    expect(
      (await node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } })).status,
    ).toBe('CLASSIFYING');

    // The classifier's answer arrives through Kafka.
    const producer = new KafkaEventBus({ brokers, clientId: 'orchestration-e2e-classifier' });
    try {
      await producer.publish([
        toBusRecord(
          TaskClassified.create(
            { taskId: id, type: 'CHORE', complexity: 'SIMPLE', confidence: 0.9, modelVersion: 'e2e' },
            { source: 'ml-classifier', aggregateId: id },
          ),
        ),
      ]);
    } finally {
      await producer.close();
    }
    await waitForStatus(node, id, ['SUCCEEDED'], 60_000);
    const task = await node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } });
    expect(task).toMatchObject({
      complexity: 'SIMPLE',
      strategy: 'SINGLE_SHOT',
      strategySource: 'CLASSIFICATION',
    });

    const lifecycle = await consumeUntil({
      brokers,
      topics: ['orchestration.task'],
      until: (seen) => eventsOf(seen, id).includes('TaskCompleted'),
    });
    expect(eventsOf(lifecycle, id)).toEqual(['TaskCreated', 'TaskStarted', 'TaskCompleted']);
    const completed = JSON.parse(
      lifecycle.find(
        (record) => record.key === id && record.headers[EventHeader.EVENT_TYPE] === 'TaskCompleted',
      )!.value,
    );
    expect(completed.payload).toMatchObject({
      taskId: id,
      attempt: 1,
      summary: expect.stringMatching(/exited with code 0/),
    });
    const lines = await node.orchestration.deps.prisma.taskLog.count({ where: { taskId: id } });
    const logs = await consumeUntil({
      brokers,
      topics: ['orchestration.tasklog'],
      until: (seen) =>
        seen
          .filter((record) => record.key === id)
          .reduce((sum, record) => sum + JSON.parse(record.value).payload.count, 0) >= lines,
    });
    const batches = logs.filter((record) => record.key === id);
    expect(batches.length).toBeLessThan(lines);
  });

  it('dead-letters a poison TaskClassified with the reason and keeps consuming', async () => {
    const id = await createTaskVia(node, alice, {
      title: 'After poison',
      strategy: 'ITERATIVE',
      command: 'true',
    });
    const poisonId = randomUUID();
    const poison: BusRecord = {
      topic: 'ml-classifier.classification',
      key: id,
      value: JSON.stringify({
        id: poisonId,
        type: 'TaskClassified',
        version: 1,
        topic: 'ml-classifier.classification',
        occurredAt: new Date().toISOString(),
        source: 'ml-classifier',
        aggregateId: id,
        payload: { taskId: id, type: 'BUG_FIX', complexity: 'ENORMOUS', confidence: 2, modelVersion: 'e2e' },
        metadata: {},
      }),
      headers: { [EventHeader.EVENT_ID]: poisonId, [EventHeader.EVENT_TYPE]: 'TaskClassified' },
    };
    const after = TaskClassified.create(
      { taskId: id, type: 'BUG_FIX', complexity: 'COMPLEX', confidence: 0.8, modelVersion: 'e2e' },
      { source: 'ml-classifier', aggregateId: id },
    );
    const producer = new KafkaEventBus({ brokers, clientId: 'orchestration-e2e-poison' });
    try {
      await producer.publish([poison, toBusRecord(after)]);
    } finally {
      await producer.close();
    }
    const dead = await consumeUntil({
      brokers,
      topics: ['ml-classifier.classification.dlq'],
      until: (seen) => seen.some((record) => record.headers[EventHeader.EVENT_ID] === poisonId),
    });
    const record = dead.find((candidate) => candidate.headers[EventHeader.EVENT_ID] === poisonId)!;
    expect(record.value).toBe(poison.value);
    expect(record.headers).toMatchObject({
      [DlqHeader.ERROR_CODE]: 'EVENT_VALIDATION_FAILED',
      [DlqHeader.ORIGINAL_TOPIC]: 'ml-classifier.classification',
      [DlqHeader.CONSUMER_GROUP]: 'orchestration.classification',
    });
    expect(record.headers[DlqHeader.ERROR]).toMatch(/complexity/);
    // The valid event behind the poison was applied: labels recorded (the override keeps the strategy).
    await waitFor(
      async () =>
        (await node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } })).complexity ===
        'COMPLEX',
      {
        timeoutMs: 30_000,
        message: 'the event after the poison applied',
      },
    );
  });

  it('keeps events in the outbox while Kafka is unreachable and publishes them once a relay can', async () => {
    // An instance whose broker does not answer: it still starts, serves and records events.
    const unreachable = new KafkaEventBus({
      brokers: ['127.0.0.1:1'],
      clientId: 'orchestration-e2e-down',
      connectionTimeoutMs: 200,
      retries: 0,
      publishTimeoutMs: 2_000,
    });
    const offline = await startOrchestrationHarness({
      bus: unreachable,
      redis: false,
      env: { WORKER_CONCURRENCY: '0', CLASSIFICATION_TIMEOUT_MS: '0' },
    });
    try {
      const down = await offline.start();
      const id = await createTaskVia(down, alice, {
        title: 'Written while Kafka is down',
        strategy: 'SINGLE_SHOT',
      });
      const { prisma } = down.orchestration.deps;
      await waitFor(
        async () => ((await prisma.outboxEvent.findFirst({ where: { key: id } }))?.attempts ?? 0) > 0,
        {
          timeoutMs: 30_000,
          message: 'a failed publish attempt',
        },
      );
      const pending = await prisma.outboxEvent.findFirstOrThrow({ where: { key: id } });
      expect(pending).toMatchObject({ type: 'TaskCreated', publishedAt: null });
      expect(pending.lastError).toBeTruthy();
      await offline.stop(down);

      // The same database, now with a reachable broker: the pending event goes out, once.
      const healthy = new KafkaEventBus({ brokers, clientId: 'orchestration-e2e-up' });
      try {
        const up = await offline.start({}, { bus: healthy });
        await waitFor(
          async () =>
            (await up.orchestration.deps.prisma.outboxEvent.findFirstOrThrow({ where: { key: id } }))
              .publishedAt !== null,
          {
            timeoutMs: 30_000,
            message: 'the pending event published',
          },
        );
        const onTopic = await consumeUntil({
          brokers,
          topics: ['orchestration.task'],
          until: (seen) => eventsOf(seen, id).includes('TaskCreated'),
          settleMs: 500,
        });
        expect(eventsOf(onTopic, id)).toEqual(['TaskCreated']);
        await offline.stop(up);
      } finally {
        await healthy.close();
      }
    } finally {
      await offline[Symbol.asyncDispose]();
    }
  });
});
