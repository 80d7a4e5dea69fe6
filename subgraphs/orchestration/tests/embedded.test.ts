import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '@cap/db';
import { MemoryEventBus } from '@cap/messaging';
import { createLogger, MemoryKeyValueStore } from '@cap/runtime';
import { asRouter, graphql, testSecret, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startOrchestration, type RunningOrchestration } from '../src/index.js';
import { waitFor } from './harness.js';

// The embedded mode of `npm start`: PGlite (one session for everything), in-process live bus and event bus.
let database: Database;
let orchestration: RunningOrchestration;
let bus: MemoryEventBus;
let kv: MemoryKeyValueStore;
let dir: string;
const secret = testSecret();
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cap-orch-embedded-'));
  // Task sandboxes of a root worker run as another user, which must be able to reach WORKSPACE_ROOT (search only).
  chmodSync(dir, 0o711);
  database = await openDatabase({ kind: 'pglite', dataDir: null });
  bus = new MemoryEventBus();
  kv = new MemoryKeyValueStore();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dir,
    WORKSPACE_ROOT: dir,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: 'silent',
    WORKER_POLL_INTERVAL_MS: '100',
    LOG_FLUSH_INTERVAL_MS: '20',
    CLASSIFICATION_TIMEOUT_MS: '0',
    PATH: process.env['PATH'],
  });
  expect(config.REDIS_URL).toBeUndefined();
  orchestration = await startOrchestration({
    config,
    database,
    kv,
    bus,
    logger: createLogger({ service: 'orchestration-embedded', level: 'silent' }),
  });
}, 60_000);
afterAll(async () => {
  await orchestration?.close({ graceMs: 0 });
  await bus?.close();
  await kv?.close();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded mode (PGlite, in-process buses)', () => {
  const call = async (query: string, variables: Record<string, unknown>) =>
    graphql(
      orchestration.subgraph.graphqlUrl,
      query,
      variables,
      await asRouter(secret, alice, { requestId: randomUUID() }),
    );
  it('creates, runs and logs a shell task', async () => {
    const created = await call(
      `mutation($input: CreateTaskInput!) { createTask(input: $input) { id status } }`,
      {
        input: { title: 'Embedded', command: 'echo "hello from $TASK_ID"' },
      },
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!['createTask'].id as string;
    const done = await waitFor(
      async () => {
        const result = await call(
          `query($id: ID!) { task(id: $id) { status result { exitCode } } taskLogs(taskId: $id) { edges { node { message } } } }`,
          { id },
        );
        return result.data?.['task'].status === 'SUCCEEDED' ? result.data : undefined;
      },
      { timeoutMs: 20_000, message: 'the task to succeed' },
    );
    expect(done['task'].result).toEqual({ exitCode: 0 });
    expect(done['taskLogs'].edges.map((edge: { node: { message: string } }) => edge.node.message)).toContain(
      `hello from ${id}`,
    );
  });

  it('stores and serves output with NUL bytes and invalid UTF-8 (U+FFFD), and the task still succeeds', async () => {
    const created = await call(`mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`, {
      input: {
        title: 'Hostile output',
        command: "printf 'nul\\000byte\\n'; printf 'bad \\377\\376 utf8\\n'",
      },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!['createTask'].id as string;
    const done = await waitFor(
      async () => {
        const result = await call(
          `query($id: ID!) { task(id: $id) { status } taskLogs(taskId: $id) { edges { node { message } } } }`,
          { id },
        );
        const status = result.data?.['task'].status as string | undefined;
        return status && status !== 'PENDING' && status !== 'RUNNING' && status !== 'QUEUED'
          ? result.data!
          : undefined;
      },
      { timeoutMs: 20_000, message: 'the task to end' },
    );
    expect(done['task'].status).toBe('SUCCEEDED');
    const messages = done['taskLogs'].edges.map((edge: { node: { message: string } }) => edge.node.message);
    expect(messages).toContain('nul\uFFFDbyte');
    expect(messages).toContain('bad \uFFFD\uFFFD utf8');
  });
});
