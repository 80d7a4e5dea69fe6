import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaEventBus } from '@cap/messaging';
import {
  loadConfig as loadMlClassifierConfig,
  startMlClassifier,
  type RunningMlClassifier,
} from '@cap/ml-classifier';
import {
  loadConfig as loadOrchestrationConfig,
  startOrchestration,
  type RunningOrchestration,
} from '@cap/orchestration';
import { createLogger, MemoryKeyValueStore } from '@cap/runtime';
import {
  asRouter,
  createTestDatabase,
  graphql,
  kafkaBrokersFromEnv,
  testSecret,
  userPrincipal,
  waitFor,
  type TestDatabase,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Orchestration and the classifier as separate services on real Kafka and PostgreSQL: a task created in
 * orchestration is classified by the classifier (TaskCreated → TaskClassified through both outboxes) and queued
 * with the strategy its complexity selects, within a second.
 */
const brokers = kafkaBrokersFromEnv();
const secret = testSecret();
const logger = createLogger({
  service: 'classification-kafka-test',
  level: process.env['TEST_LOG_LEVEL'] ?? 'silent',
});
const alice = userPrincipal('DEVELOPER');
let db: TestDatabase;
let dataDir: string;
let orchestrationBus: KafkaEventBus;
let classifierBus: KafkaEventBus;
let orchestration: RunningOrchestration;
let classifier: RunningMlClassifier;

const CREATE_TASK = `mutation($input: CreateTaskInput!) { createTask(input: $input) { id status } }`;

async function createTask(title: string, description: string): Promise<string> {
  const result = await graphql(
    orchestration.subgraph.graphqlUrl,
    CREATE_TASK,
    { input: { title, description } },
    await asRouter(secret, alice),
  );
  expect(result.errors).toBeUndefined();
  expect(result.data!['createTask'].status).toBe('CLASSIFYING');
  return result.data!['createTask'].id as string;
}

/** Waits until orchestration applied the classification; resolves with the task's labels. */
function classified(taskId: string, timeoutMs: number) {
  return waitFor(
    async () => {
      const task = await orchestration.deps.prisma.codingTask.findUnique({ where: { id: taskId } });
      return task?.strategySource === 'CLASSIFICATION' ? task : undefined;
    },
    { timeoutMs, intervalMs: 10, message: () => `task ${taskId} to be classified` },
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'cap-classification-kafka-'));
  const common = {
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: db.url,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    KAFKA_BROKERS: brokers.join(','),
  };
  orchestrationBus = new KafkaEventBus({ brokers, clientId: 'classification-test-orchestration' });
  classifierBus = new KafkaEventBus({ brokers, clientId: 'classification-test-classifier' });
  classifier = await startMlClassifier({
    config: loadMlClassifierConfig({ ...common, TRAINING_CHANGELOGS: 'false' }),
    database: db.database,
    kv: new MemoryKeyValueStore(),
    bus: classifierBus,
    logger,
    // Its own group from the topic's end: other runs' tasks on the shared broker are not this test's.
    consumer: { groupId: `ml-classifier.test-${randomUUID()}`, fromBeginning: false },
  });
  orchestration = await startOrchestration({
    config: loadOrchestrationConfig({
      ...common,
      WORKER_CONCURRENCY: '0',
      CLASSIFICATION_TIMEOUT_MS: '60000',
    }),
    database: db.database,
    kv: new MemoryKeyValueStore(),
    bus: orchestrationBus,
    logger,
  });
  await Promise.all([classifier.consumerReady, orchestration.consumerReady]);
  // A first task proves both consumers fetch (a new group settles its offsets on its first fetch).
  await classified(await createTask('Warm up the pipeline', ''), 30_000);
}, 90_000);

afterAll(async () => {
  await orchestration?.close({ graceMs: 0 });
  await classifier?.close();
  await Promise.allSettled([orchestrationBus?.close(), classifierBus?.close()]);
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('classification on Kafka', () => {
  it('classifies tasks end to end within a second and orchestration queues them with the strategy of their complexity', async () => {
    const texts = [
      ['Fix typo in the README', 'The word "recieve" is misspelled.'],
      ['Add an endpoint to export invoices as CSV', 'Support filters and pagination.'],
      ['Rewrite the storage layer to support sharding', 'Touches every repository and migration.'],
    ] as const;
    for (const [title, description] of texts) {
      const started = Date.now();
      const taskId = await createTask(title, description);
      const task = await classified(taskId, 1_000);
      const latencyMs = Date.now() - started;
      expect(latencyMs).toBeLessThan(1_000);
      const stored = await classifier.deps.prisma.taskClassification.findUniqueOrThrow({ where: { taskId } });
      expect(task).toMatchObject({ type: stored.type, complexity: stored.complexity, status: 'QUEUED' });
      expect(task.strategy).toBe(
        { SIMPLE: 'SINGLE_SHOT', MEDIUM: 'ITERATIVE', COMPLEX: 'MULTI_AGENT' }[stored.complexity],
      );
    }
  });
});
