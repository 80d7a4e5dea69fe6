/**
 * The classifier as a service, after the in-process rows of `index.ts`:
 *   1. `classifyTask` through the router (authentication, policies, the gateway) beside the same query sent to the
 *      ml-classifier subgraph directly with a router token (the baseline): classifications/s and p50/p99 of
 *      BENCH_SERVICE_REQUESTS (300) sequential requests;
 *   2. with KAFKA_BROKERS set: `TaskCreated` published to `orchestration.task` → `TaskClassified` read back from
 *      `ml-classifier.classification` by a separate consumer, BENCH_KAFKA_TASKS (200) tasks, 10 in flight:
 *      p50/p99 end to end (target < 1 s).
 * Runs on DATABASE_URL or embedded PGlite in a temporary directory; the classifier reads no changelogs (nothing is
 * trained here).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { ClassifierTopic, TaskCreated } from '@cap/events';
import { loadConfig as loadIdentityConfig, startIdentity } from '@cap/identity';
import { KafkaEventBus, MemoryEventBus, toBusRecord, type EventBus } from '@cap/messaging';
import { loadConfig as loadClassifierConfig, startMlClassifier } from '@cap/ml-classifier';
import { loadConfig as loadRouterConfig, startRouter } from '@cap/router';
import {
  createKeyValueStore,
  createLogger,
  ROUTER_TOKEN_HEADER,
  scopesForRole,
  Shutdown,
  signRouterToken,
} from '@cap/runtime';

const REQUESTS = Number(process.env['BENCH_SERVICE_REQUESTS'] ?? 300);
const KAFKA_TASKS = Number(process.env['BENCH_KAFKA_TASKS'] ?? 200);
const IN_FLIGHT = 10;
const QUERY =
  'query($t: String!, $d: String) { classifyTask(input: { title: $t, description: $d }) { type complexity } }';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function summary(name: string, latencies: number[], seconds: number): string[] {
  const sorted = [...latencies].sort((a, b) => a - b);
  return [
    name,
    (latencies.length / seconds).toFixed(0),
    percentile(sorted, 50).toFixed(2),
    percentile(sorted, 99).toFixed(2),
  ];
}

async function sequential(
  name: string,
  url: string,
  headers: () => Promise<Record<string, string>>,
  texts: { title: string; description: string }[],
): Promise<string[]> {
  const call = async (text: { title: string; description: string }) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await headers()) },
      body: JSON.stringify({ query: QUERY, variables: { t: text.title, d: text.description } }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`${name}: ${JSON.stringify(body.errors).slice(0, 300)}`);
  };
  for (const text of texts.slice(0, 20)) await call(text);
  const latencies: number[] = [];
  const started = performance.now();
  for (const text of texts) {
    const begin = performance.now();
    await call(text);
    latencies.push(performance.now() - begin);
  }
  return summary(name, latencies, (performance.now() - started) / 1000);
}

/** Runs both service measurements with `texts`; returns table rows (name, per second, p50 ms, p99 ms). */
export async function measureService(texts: { title: string; description: string }[]): Promise<string[][]> {
  const logger = createLogger({ service: 'bench-classifier', level: 'warn' });
  const shutdown = new Shutdown(logger);
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-bench-classifier-'));
  shutdown.add('data dir', async () => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomUUID() + randomUUID();
  const rows: string[][] = [];
  try {
    const database = await openDatabase(
      databaseTargetFromEnv({ databaseUrl: process.env['DATABASE_URL'], dataDir }),
      { logger },
    );
    shutdown.add('database', () => database.close());
    const kv = createKeyValueStore(process.env['REDIS_URL']);
    shutdown.add('cache', () => kv.close());
    const brokers = process.env['KAFKA_BROKERS']?.split(',').filter(Boolean);
    const bus: EventBus = brokers?.length
      ? new KafkaEventBus({ brokers, clientId: 'bench-classifier' })
      : new MemoryEventBus();
    shutdown.add('bus', () => bus.close());
    const common = {
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      LOG_LEVEL: 'warn',
    };
    const identity = await startIdentity({
      config: loadIdentityConfig(common),
      database,
      kv,
      bus: new MemoryEventBus(),
      logger,
    });
    shutdown.add('identity', () => identity.close());
    const classifier = await startMlClassifier({
      config: loadClassifierConfig({ ...common, TRAINING_CHANGELOGS: 'false' }),
      database,
      kv,
      bus,
      logger,
      consumer: { groupId: `ml-classifier.bench-${randomUUID()}`, fromBeginning: false },
    });
    shutdown.add('ml-classifier', () => classifier.close());
    const router = await startRouter({
      config: loadRouterConfig({
        ...common,
        NODE_ENV: 'development',
        SUBGRAPH_IDENTITY_URL: identity.subgraph.graphqlUrl,
        SUBGRAPH_ML_CLASSIFIER_URL: classifier.subgraph!.graphqlUrl,
        IDENTITY_INTERNAL_URL: identity.subgraph.url,
        SUPERGRAPH_POLL_INTERVAL_MS: '0',
        RATE_LIMIT_USER: '1000000000/1h',
      }),
      kv,
      logger,
    });
    shutdown.add('router', () => router.close());

    const admin = identity.bootstrappedAdmin!;
    const login = (await (
      await fetch(router.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query:
            'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken user { id } } }',
          variables: { e: admin.email, p: admin.password },
        }),
      })
    ).json()) as { data: { login: { accessToken: string; user: { id: string } } } };
    const { accessToken, user } = login.data.login;
    const principal = {
      kind: 'user' as const,
      userId: user.id,
      role: 'ADMIN' as const,
      scopes: scopesForRole('ADMIN'),
    };
    const sample = texts.slice(0, REQUESTS);
    rows.push(
      await sequential(
        'classifyTask, subgraph directly (baseline)',
        classifier.subgraph!.graphqlUrl,
        async () => ({
          [ROUTER_TOKEN_HEADER]: await signRouterToken(secret, {
            principal,
            requestId: 'bench',
            clientIp: '127.0.0.1',
          }),
        }),
        sample,
      ),
    );
    rows.push(
      await sequential(
        'classifyTask through the router',
        router.graphqlUrl,
        async () => ({
          authorization: `Bearer ${accessToken}`,
        }),
        sample,
      ),
    );

    if (brokers?.length) {
      await classifier.consumerReady;
      const sent = new Map<string, number>();
      const latencies: number[] = [];
      let arrived: () => void = () => undefined;
      const reader = new KafkaEventBus({ brokers, clientId: 'bench-classifier-reader' });
      shutdown.add('reader', () => reader.close());
      const subscription = await reader.subscribe({
        groupId: `bench-classifier-reader-${randomUUID()}`,
        topics: [ClassifierTopic.classification],
        fromBeginning: false,
        handler: async (record) => {
          const at = sent.get(record.key);
          if (at === undefined) return;
          sent.delete(record.key);
          latencies.push(performance.now() - at);
          arrived();
        },
      });
      shutdown.add('reader subscription', () => subscription.close());
      const publish = async (text: { title: string; description: string }) => {
        const taskId = randomUUID();
        const envelope = TaskCreated.create(
          {
            taskId,
            title: text.title || 'untitled',
            description: text.description,
            repository: null,
            creatorId: user.id,
            priority: 'NORMAL',
            strategyOverride: null,
            status: 'CLASSIFYING',
          },
          { source: 'bench', aggregateId: taskId },
        );
        sent.set(taskId, performance.now());
        await bus.publish([toBusRecord(envelope)]);
      };
      // Warm up until a classification comes back (a new consumer group settles its offsets on its first fetch).
      const deadline = Date.now() + 60_000;
      while (latencies.length === 0 && Date.now() < deadline) {
        await publish(texts[0]!);
        await new Promise<void>((resolve) => {
          arrived = resolve;
          setTimeout(resolve, 2_000);
        });
      }
      latencies.length = 0;
      sent.clear();
      const started = performance.now();
      for (const text of texts.slice(0, KAFKA_TASKS)) {
        while (sent.size >= IN_FLIGHT)
          await new Promise<void>((resolve) => {
            arrived = resolve;
            setTimeout(resolve, 5_000);
          });
        await publish(text);
      }
      while (sent.size > 0 && performance.now() - started < 120_000)
        await new Promise<void>((resolve) => {
          arrived = resolve;
          setTimeout(resolve, 5_000);
        });
      rows.push(
        summary(
          'TaskCreated → TaskClassified on Kafka (end to end)',
          latencies,
          (performance.now() - started) / 1000,
        ),
      );
    }
  } finally {
    await shutdown.close();
  }
  return rows;
}
