import { randomUUID } from 'node:crypto';
import { ClassifierTopic, OrchestrationTopic } from '@cap/events';
import { DlqHeader, dlqTopic, EventHeader, MemoryEventBus } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  publish,
  startClassifierHarness,
  taskCompleted,
  taskCreated,
  type ClassifierHarness,
} from './harness.js';

/**
 * The consumer of orchestration's task events: TaskCreated → a stored classification and TaskClassified through
 * the outbox (once per event), TaskCompleted/TaskFailed → training examples; poison goes to the dead-letter topic
 * and the consumer keeps going.
 */
let harness: ClassifierHarness;
let bus: MemoryEventBus;

beforeAll(async () => {
  bus = new MemoryEventBus();
  harness = await startClassifierHarness({ bus });
  await harness.classifier.consumerReady;
});
afterAll(async () => {
  await harness?.[Symbol.asyncDispose]();
});

function classified(taskId: string) {
  return bus
    .records(ClassifierTopic.classification)
    .filter((record) => record.key === taskId)
    .map((record) => JSON.parse(record.value));
}

describe('task events', () => {
  it('classifies TaskCreated once, stores it and answers TaskClassified; CodingTask.classification reads it', async () => {
    const taskId = randomUUID();
    const created = taskCreated(taskId, {
      title: 'Fix the flaky upload test',
      description: 'It fails on CI.',
    });
    await publish(bus, [created, created]);
    const [event] = await waitFor(() => (classified(taskId).length > 0 ? classified(taskId) : undefined));
    expect(event).toMatchObject({
      type: 'TaskClassified',
      source: 'ml-classifier',
      payload: { taskId, modelVersion: expect.stringMatching(/^task-classifier-/) },
    });
    const row = await harness.classifier.deps.prisma.taskClassification.findUniqueOrThrow({
      where: { taskId },
    });
    expect(row.type).toBe(event.payload.type);

    const entity = await harness.call(
      /* GraphQL */ `
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) {
            ... on CodingTask {
              id
              classification {
                type
                complexity
                modelVersion
                classifiedAt
              }
            }
          }
        }
      `,
      {
        representations: [
          { __typename: 'CodingTask', id: taskId },
          { __typename: 'CodingTask', id: randomUUID() },
        ],
      },
      userPrincipal('VIEWER'),
    );
    expect(entity.errors).toBeUndefined();
    expect(entity.data!['_entities'][0].classification).toMatchObject({
      type: row.type,
      complexity: row.complexity,
    });
    expect(entity.data!['_entities'][1].classification).toBeNull();
    // The redelivered event was applied once.
    const barrier = randomUUID();
    await publish(bus, [taskCreated(barrier, { title: 'barrier' })]);
    await waitFor(() => (classified(barrier).length > 0 ? true : undefined));
    expect(classified(taskId)).toHaveLength(1);
  });

  it('answers a task with a 1 MB description and a non-English one (cut to what it reads), never dead-letters them', async () => {
    const big = randomUUID();
    const foreign = randomUUID();
    await publish(bus, [
      taskCreated(big, { title: 'Refactor the parser', description: 'word '.repeat(210_000) }),
      taskCreated(foreign, { title: 'Исправить ошибку 修复错误', description: '🙂'.repeat(500) }),
    ]);
    await waitFor(() => (classified(big).length && classified(foreign).length ? true : undefined));
    const row = await harness.classifier.deps.prisma.taskClassification.findUniqueOrThrow({
      where: { taskId: big },
    });
    expect(row.description.length).toBeLessThanOrEqual(20_000);
  });

  it('dead-letters poison (not JSON, unknown type, invalid payload) with the reason and keeps consuming', async () => {
    const headers = { [EventHeader.EVENT_ID]: randomUUID(), [EventHeader.EVENT_TYPE]: 'TaskCreated' };
    const invalid = JSON.parse(JSON.stringify(taskCreated(randomUUID(), { title: 'x' })));
    invalid.payload.title = 42;
    await bus.publish([
      { topic: OrchestrationTopic.task, key: 'k1', value: '{not json', headers },
      {
        topic: OrchestrationTopic.task,
        key: 'k2',
        value: JSON.stringify({ ...invalid, type: 'Nope' }),
        headers,
      },
      {
        topic: OrchestrationTopic.task,
        key: invalid.payload.taskId,
        value: JSON.stringify(invalid),
        headers,
      },
    ]);
    const after = randomUUID();
    await publish(bus, [taskCreated(after, { title: 'Add a CSV export' })]);
    await waitFor(() => (classified(after).length > 0 ? true : undefined));
    const dead = await waitFor(() => {
      const records = bus.records(dlqTopic(OrchestrationTopic.task));
      return records.length >= 3 ? records : undefined;
    });
    expect(dead.map((record) => record.headers[DlqHeader.ERROR_CODE])).toEqual([
      'EVENT_JSON_INVALID',
      'EVENT_CONTRACT_UNKNOWN',
      'EVENT_VALIDATION_FAILED',
    ]);
  });

  it('stores TaskCompleted and TaskFailed as training examples with the real outcome; unknown tasks are skipped', async () => {
    const small = randomUUID();
    const large = randomUUID();
    const unknown = randomUUID();
    await publish(bus, [
      taskCreated(small, { title: 'Fix a typo in the footer' }),
      taskCreated(large, { title: 'Move billing to the new ledger' }),
      taskCompleted(small, { filesChanged: 1, linesChanged: 2 }),
      taskCompleted(large, { filesChanged: 14, linesChanged: 1_900 }),
      taskCompleted(unknown, { filesChanged: 1, linesChanged: 1 }),
    ]);
    const { prisma } = harness.classifier.deps;
    const rows = await waitFor(async () => {
      const found = await prisma.outcomeExample.findMany({
        where: { taskId: { in: [small, large, unknown] } },
      });
      return found.length >= 2 ? found : undefined;
    });
    const byId = new Map(rows.map((row) => [row.taskId, row]));
    expect(byId.get(small)).toMatchObject({
      outcome: 'COMPLETED',
      complexity: 'SIMPLE',
      title: 'Fix a typo in the footer',
    });
    expect(byId.get(large)).toMatchObject({
      complexity: 'COMPLEX',
      filesChanged: 14,
      linesChanged: 1_900,
      toolCalls: 3,
    });
    expect(byId.has(unknown)).toBe(false);
  });
});
