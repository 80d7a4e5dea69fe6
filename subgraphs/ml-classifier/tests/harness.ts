import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskCompleted, TaskCreated } from '@cap/events';
import { MemoryEventBus, toBusRecord, type EventBus } from '@cap/messaging';
import { createLogger, MemoryKeyValueStore, type Principal } from '@cap/runtime';
import { asRouter, createTestDatabase, graphql, testSecret, type TestDatabase } from '@cap/testkit';
import {
  loadConfig,
  startMlClassifier,
  type RunningMlClassifier,
  type TasksConsumerOptions,
} from '../src/index.js';

export interface ClassifierHarness extends AsyncDisposable {
  classifier: RunningMlClassifier;
  db: TestDatabase;
  bus: EventBus;
  secret: string;
  /** Calls the classifier as the router would, for `principal` (anonymous when omitted). */
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): ReturnType<typeof graphql<T>>;
}

/**
 * The classifier on a fresh real PostgreSQL database, on `options.bus` (default in-memory). Training reads no
 * changelogs unless `env` says so: tests train on small example sets.
 */
export async function startClassifierHarness(
  options: { env?: Record<string, string>; bus?: EventBus; consumer?: TasksConsumerOptions } = {},
): Promise<ClassifierHarness> {
  const db = await createTestDatabase();
  const secret = testSecret();
  const bus = options.bus ?? new MemoryEventBus();
  const dataDir = join(tmpdir(), `cap-ml-test-${randomUUID()}`);
  const kv = new MemoryKeyValueStore();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    TRAINING_CHANGELOGS: 'false',
    TRAINING_EPOCHS: '4',
    CLASSIFIER_RELOAD_INTERVAL_MS: '200',
    ...options.env,
  });
  let classifier: RunningMlClassifier;
  try {
    classifier = await startMlClassifier({
      config,
      database: db.database,
      kv,
      bus,
      logger: createLogger({ service: 'ml-classifier-test', level: config.LOG_LEVEL }),
      ...(options.consumer ? { consumer: options.consumer } : {}),
    });
  } catch (error) {
    await Promise.allSettled([bus.close(), kv.close(), db.drop()]);
    throw error;
  }
  return {
    classifier,
    db,
    bus,
    secret,
    call: async (query, variables = {}, principal) =>
      graphql(classifier.subgraph!.graphqlUrl, query, variables, await asRouter(secret, principal)),
    [Symbol.asyncDispose]: async () => {
      await classifier.close();
      await bus.close();
      await kv.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A `TaskCreated` as orchestration publishes it. */
export function taskCreated(taskId: string, text: { title: string; description?: string }) {
  return TaskCreated.create(
    {
      taskId,
      title: text.title,
      description: text.description ?? '',
      repository: null,
      creatorId: randomUUID(),
      priority: 'NORMAL',
      strategyOverride: null,
      status: 'CLASSIFYING',
    },
    { source: 'orchestration', aggregateId: taskId },
  );
}

/** A `TaskCompleted` with the outcome an agent reports. */
export function taskCompleted(
  taskId: string,
  outcome: { filesChanged: number; linesChanged: number | null },
) {
  return TaskCompleted.create(
    {
      taskId,
      executionId: randomUUID(),
      attempt: 1,
      summary: 'done',
      changedFiles: outcome.filesChanged,
      pullRequestUrl: null,
      durationMs: 1_000,
      outcome: { ...outcome, toolCalls: 3, tokens: 1_200 },
    },
    { source: 'orchestration', aggregateId: taskId },
  );
}

/** Publishes envelopes on a bus as the outbox relay would. */
export async function publish(bus: EventBus, envelopes: Parameters<typeof toBusRecord>[0][]): Promise<void> {
  await bus.publish(envelopes.map((envelope) => toBusRecord(envelope)));
}

export const CLASSIFY = /* GraphQL */ `
  query Classify($input: ClassifyTaskInput!) {
    classifyTask(input: $input) {
      type
      typeConfidence
      typeDecidedBy
      complexity
      complexityConfidence
      complexityDecidedBy
      typeProbabilities {
        label
        probability
      }
      modelVersion
      classifiedAt
    }
  }
`;
