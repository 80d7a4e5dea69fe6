import { randomUUID } from 'node:crypto';
import { userPrincipal } from '@cap/testkit';
import { TaskClassified } from '@cap/events';
import { DlqHeader, toBusRecord, type BusRecord } from '@cap/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFICATION_CONSUMER_GROUP } from '../src/consumers/taskClassified.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// No workers: queued tasks stay QUEUED, so the strategy they were queued with can be inspected.
let cluster: OrchestrationHarness;
let node: Instance;
let dead: BusRecord[];
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness({
    env: { WORKER_CONCURRENCY: '0', CLASSIFICATION_TIMEOUT_MS: '1500', DEFAULT_STRATEGY: 'ITERATIVE' },
  });
  node = await cluster.start();
  // The 1.5 s classification deadline starts with each task: the consumer must have joined before the first one.
  await node.orchestration.consumerReady;
  dead = [];
  await cluster.bus.subscribe({
    groupId: 'classification-test-dlq',
    topics: ['ml-classifier.classification.dlq'],
    fromBeginning: true,
    handler: async (record) => {
      dead.push(record);
    },
  });
  // One event through the consumer before the timed tests (a classification of no task, dead-lettered): the
  // first transaction of a process is slow, and the 1.5 s classification timeout runs from each task's creation.
  await cluster.bus.publish([toBusRecord(classified(randomUUID(), 'SIMPLE'))]);
  await waitFor(() => dead.length === 1, { message: 'the warm-up event dead-lettered', timeoutMs: 30_000 });
  dead.length = 0;
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

function classified(
  taskId: string,
  complexity: 'SIMPLE' | 'MEDIUM' | 'COMPLEX',
  type: 'BUG_FIX' | 'FEATURE' = 'BUG_FIX',
) {
  return TaskClassified.create(
    { taskId, type, complexity, confidence: 0.93, modelVersion: 'hybrid-2026.11' },
    { source: 'ml-classifier', aggregateId: taskId },
  );
}

async function task(id: string) {
  return node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({
    where: { id },
    include: { executions: true },
  });
}

describe('strategy selection from the classification', () => {
  it.each([
    ['SIMPLE', 'SINGLE_SHOT'],
    ['MEDIUM', 'ITERATIVE'],
    ['COMPLEX', 'MULTI_AGENT'],
  ] as const)('queues a %s task with %s when TaskClassified arrives', async (complexity, strategy) => {
    const id = await createTaskVia(node, alice, { title: `Classify ${complexity}` });
    expect((await task(id)).status).toBe('CLASSIFYING');
    await cluster.bus.publish([toBusRecord(classified(id, complexity, 'FEATURE'))]);
    await waitForStatus(node, id, ['QUEUED'], 5_000);
    const queued = await task(id);
    expect(queued).toMatchObject({
      type: 'FEATURE',
      complexity,
      strategy,
      strategySource: 'CLASSIFICATION',
      classificationDeadlineAt: null,
    });
    expect(queued.executions).toMatchObject([{ attempt: 1, status: 'QUEUED', strategy }]);
  });

  it('applies a redelivered TaskClassified once (idempotent consumer)', async () => {
    const id = await createTaskVia(node, alice, { title: 'Twice' });
    const event = classified(id, 'SIMPLE');
    await cluster.bus.publish([toBusRecord(event), toBusRecord(event)]);
    await waitForStatus(node, id, ['QUEUED'], 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const applied = await task(id);
    expect(applied.version).toBe(1);
    expect(applied.executions).toHaveLength(1);
    const marks = await node.orchestration.deps.prisma.processedEvent.count({
      where: { consumerGroup: CLASSIFICATION_CONSUMER_GROUP, eventId: event.id },
    });
    expect(marks).toBe(1);
  });

  it('keeps the creator’s override but records the labels', async () => {
    const id = await createTaskVia(node, alice, { title: 'Overridden', strategy: 'SINGLE_SHOT' });
    await cluster.bus.publish([toBusRecord(classified(id, 'COMPLEX'))]);
    await waitFor(async () => (await task(id)).complexity === 'COMPLEX', {
      timeoutMs: 5_000,
      message: 'labels recorded',
    });
    expect(await task(id)).toMatchObject({
      status: 'QUEUED',
      strategy: 'SINGLE_SHOT',
      strategySource: 'OVERRIDE',
    });
  });
});

describe('when no classification arrives', () => {
  it('queues the task with the default strategy after CLASSIFICATION_TIMEOUT_MS, and a late classification still picks the strategy', async () => {
    const created = Date.now();
    const id = await createTaskVia(node, alice, { title: 'Nobody classifies me' });
    await waitForStatus(node, id, ['QUEUED'], 5_000);
    const waited = Date.now() - created;
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(4_000);
    expect(await task(id)).toMatchObject({
      strategy: 'ITERATIVE',
      strategySource: 'DEFAULT',
      executions: [{ strategy: 'ITERATIVE', status: 'QUEUED' }],
    });

    await cluster.bus.publish([toBusRecord(classified(id, 'COMPLEX'))]);
    await waitFor(async () => (await task(id)).strategySource === 'CLASSIFICATION', {
      timeoutMs: 5_000,
      message: 'late classification',
    });
    expect(await task(id)).toMatchObject({
      status: 'QUEUED',
      complexity: 'COMPLEX',
      strategy: 'MULTI_AGENT',
      executions: [{ strategy: 'MULTI_AGENT' }],
    });
  });
});

describe('events that can never apply', () => {
  it('dead-letters a poison TaskClassified (invalid payload) and one for an unknown task, and keeps consuming', async () => {
    const poisonId = randomUUID();
    const valid = classified(randomUUID(), 'SIMPLE');
    const poison: BusRecord = {
      ...toBusRecord(valid),
      value: JSON.stringify({
        ...valid,
        id: poisonId,
        payload: { ...valid.payload, complexity: 'GIGANTIC', confidence: 7 },
      }),
      headers: { ...toBusRecord(valid).headers, 'event-id': poisonId },
    };
    const unknown = classified(randomUUID(), 'MEDIUM');
    const id = await createTaskVia(node, alice, { title: 'After the poison' });
    await cluster.bus.publish([poison, toBusRecord(unknown), toBusRecord(classified(id, 'SIMPLE'))]);

    await waitFor(() => dead.length >= 2, { timeoutMs: 5_000, message: 'two dead letters' });
    const poisoned = dead.find((record) => record.headers['event-id'] === poisonId)!;
    expect(poisoned.headers).toMatchObject({
      [DlqHeader.ERROR_CODE]: 'EVENT_VALIDATION_FAILED',
      [DlqHeader.ORIGINAL_TOPIC]: 'ml-classifier.classification',
      [DlqHeader.CONSUMER_GROUP]: CLASSIFICATION_CONSUMER_GROUP,
    });
    expect(poisoned.value).toBe(poison.value);
    const orphan = dead.find((record) => record.headers['event-id'] === unknown.id)!;
    expect(orphan.headers).toMatchObject({
      [DlqHeader.ERROR_CODE]: 'EVENT_HANDLER_FAILED',
      [DlqHeader.ATTEMPTS]: '1',
    });
    expect(orphan.headers[DlqHeader.ERROR]).toMatch(/No task/);
    // The consumer moved on: the valid event after them was applied.
    await waitForStatus(node, id, ['QUEUED'], 5_000);
  });
});
