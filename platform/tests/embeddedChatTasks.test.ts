import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@cap/runtime';
import { createTestDatabase, errorCodes, graphql, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPlatform } from '../src/index.js';
import { platformTestEnv, startPlatformAsAdmin } from './support/embeddedPlatform.js';

/**
 * Chat and orchestration in the one-process platform, driven as a client drives them: over HTTP through the
 * router, logged in as the first admin. Once on embedded defaults (PGlite, in-memory cache and buses, what
 * `npm start` runs) and once pointed at real PostgreSQL and Redis (DATABASE_URL, REDIS_URL).
 */

const CREATE_CONVERSATION = `mutation($title: String!) { createConversation(input: { title: $title }) { id title participants { kind } } }`;
const POST_MESSAGE = `mutation($input: PostMessageInput!) { postMessage(input: $input) { id seq body } }`;
const MESSAGES = `query($id: ID!) { conversation(id: $id) { messages { edges { node { seq body author { kind } attachments { fileName size download { url } } } } } } }`;
const CREATE_UPLOAD = `mutation($id: ID!, $name: String!, $type: String!, $size: Int!) {
  createAttachmentUpload(conversationId: $id, fileName: $name, contentType: $type, size: $size) { attachmentId uploadUrl uploadMethod }
}`;
const CREATE_TASK = `mutation($input: CreateTaskInput!) { createTask(input: $input) { id status strategy strategySource } }`;
const TASK = `query($id: ID!) { task(id: $id) { status attempts result { exitCode } } }`;
const CLASSIFICATION = `query($id: ID!) { task(id: $id) { strategySource complexity classification { complexity modelVersion } } }`;
const TASK_LOGS = `query($id: ID!) { taskLogs(taskId: $id) { edges { node { seq kind message data } } } }`;
const CANCEL_TASK = `mutation($id: ID!) { cancelTask(id: $id) { id status } }`;

interface Mode {
  name: string;
  /** The environment of this mode on top of the common one, and how to release what it created. */
  setup(): Promise<{ env: Record<string, string>; dispose(): Promise<void> }>;
}

const modes: Mode[] = [
  {
    name: 'embedded defaults (PGlite, in-memory cache and buses)',
    setup: async () => ({ env: {}, dispose: async () => undefined }),
  },
  {
    name: 'real PostgreSQL and Redis',
    setup: async () => {
      const testDatabase = await createTestDatabase();
      const prefix = `test:${randomUUID()}:`;
      const env = {
        DATABASE_URL: testDatabase.url,
        REDIS_URL: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
        // Chat's cache and fan-out, orchestration's live channels, the router's cost budgets: this test's own.
        REDIS_KEY_PREFIX: `${prefix}chat:`,
        LIVE_CHANNEL_PREFIX: `${prefix}orchestration:`,
        RATE_LIMIT_KEY_PREFIX: `${prefix}rl:`,
      };
      return { env, dispose: () => testDatabase.drop() };
    },
  },
];

describe.each(modes)('chat and tasks through the router on $name', (mode) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-chat-tasks-'));
  // Task sandboxes of a root worker run as another user, which must be able to reach WORKSPACE_ROOT (search only).
  chmodSync(dataDir, 0o711);
  const logger = createLogger({ service: 'platform-test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  let platform: RunningPlatform;
  let url: string;
  let auth: Record<string, string>;
  let dispose: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const setup = await mode.setup();
    dispose = setup.dispose;
    ({ platform, url, auth } = await startPlatformAsAdmin(platformTestEnv(dataDir, setup.env), logger));
  }, 120_000);

  afterAll(async () => {
    await platform?.close();
    await dispose?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a conversation, posts messages and reads them back, newest first', async () => {
    const created = await graphql(url, CREATE_CONVERSATION, { title: 'Release plan' }, auth);
    expect(created.errors).toBeUndefined();
    expect(created.data!['createConversation']).toMatchObject({
      title: 'Release plan',
      participants: [{ kind: 'USER' }],
    });
    const id = created.data!['createConversation'].id as string;

    for (const body of ['First: **ship** it', 'Second, with `code`']) {
      const posted = await graphql(url, POST_MESSAGE, { input: { conversationId: id, body } }, auth);
      expect(posted.errors).toBeUndefined();
      expect(posted.data!['postMessage'].body).toBe(body);
    }
    const read = await graphql(url, MESSAGES, { id }, auth);
    expect(read.errors).toBeUndefined();
    expect(read.data!['conversation'].messages.edges.map((edge: any) => edge.node)).toEqual([
      { seq: 2, body: 'Second, with `code`', author: { kind: 'USER' }, attachments: [] },
      { seq: 1, body: 'First: **ship** it', author: { kind: 'USER' }, attachments: [] },
    ]);
  });

  it('stores an attachment under DATA_DIR and serves it back through its signed link', async () => {
    const conversation = await graphql(url, CREATE_CONVERSATION, { title: 'Files' }, auth);
    const conversationId = conversation.data!['createConversation'].id as string;
    const bytes = Buffer.from('notes from the platform test\n', 'utf8');
    const upload = await graphql(
      url,
      CREATE_UPLOAD,
      { id: conversationId, name: 'notes.txt', type: 'text/plain', size: bytes.length },
      auth,
    );
    expect(upload.errors).toBeUndefined();
    const { attachmentId, uploadUrl, uploadMethod } = upload.data!['createAttachmentUpload'];
    const put = await fetch(uploadUrl as string, {
      method: uploadMethod as string,
      headers: { 'content-type': 'text/plain' },
      body: bytes,
    });
    expect(put.status).toBe(201);
    // Chat's local storage is the platform's data folder, not the working directory.
    expect(readFileSync(join(dataDir, 'attachments', attachmentId as string), 'utf8')).toBe(
      bytes.toString('utf8'),
    );

    const posted = await graphql(
      url,
      POST_MESSAGE,
      { input: { conversationId, body: 'see attached', attachmentIds: [attachmentId] } },
      auth,
    );
    expect(posted.errors).toBeUndefined();
    const read = await graphql(url, MESSAGES, { id: conversationId }, auth);
    const [attachment] = read.data!['conversation'].messages.edges[0].node.attachments;
    expect(attachment).toMatchObject({ fileName: 'notes.txt', size: bytes.length });
    const download = await fetch(attachment.download.url as string);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(bytes.toString('utf8'));
  });

  it('classifies a shell task with the embedded classifier and runs it to SUCCEEDED, with its output in taskLogs', async () => {
    const created = await graphql(
      url,
      CREATE_TASK,
      { input: { title: 'Say hello', command: 'echo "hello from $TASK_ID"; echo "to stderr" >&2' } },
      auth,
    );
    expect(created.errors).toBeUndefined();
    // The classifier runs in the process: the in-memory bus carries TaskCreated to it and TaskClassified back.
    expect(created.data!['createTask']).toMatchObject({ status: 'CLASSIFYING', strategy: null });
    const id = created.data!['createTask'].id as string;

    const task = await waitFor(
      async () => {
        const result = await graphql(url, TASK, { id }, auth);
        expect(result.errors).toBeUndefined();
        const current = result.data!['task'];
        expect(current.status).not.toBe('FAILED');
        return current.status === 'SUCCEEDED' ? current : undefined;
      },
      { message: 'the task to succeed', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(task).toEqual({ status: 'SUCCEEDED', attempts: 1, result: { exitCode: 0 } });
    // The strategy came from the classification, which the router joins from the classifier's subgraph.
    const classified = await graphql(url, CLASSIFICATION, { id }, auth);
    expect(classified.errors).toBeUndefined();
    const labels = classified.data!['task'];
    expect(labels.strategySource).toBe('CLASSIFICATION');
    expect(labels.classification).toMatchObject({
      complexity: labels.complexity,
      modelVersion: expect.stringMatching(/^task-classifier-/),
    });
    // TaskCompleted carried the outcome; the classifier keeps it as a training example (a command measures no
    // lines, so it has no complexity label).
    const example = await waitFor(
      () =>
        platform.mlClassifier.deps.prisma.outcomeExample
          .findUnique({ where: { taskId: id } })
          .then((row) => row ?? undefined),
      { message: 'the outcome example', timeoutMs: 10_000 },
    );
    expect(example).toMatchObject({
      outcome: 'COMPLETED',
      title: 'Say hello',
      linesChanged: null,
      complexity: null,
    });

    // Log lines are written in batches; the last batch may land just after the status changed.
    const output = await waitFor(
      async () => {
        const logs = await graphql(url, TASK_LOGS, { id }, auth);
        expect(logs.errors).toBeUndefined();
        const nodes = logs.data!['taskLogs'].edges.map((edge: any) => edge.node);
        const lines = nodes.filter((node: any) => node.kind === 'COMMAND_OUTPUT');
        return lines.length >= 2 ? { nodes, lines } : undefined;
      },
      { message: 'the command output in taskLogs', timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(output.lines.map((line: any) => [line.data.stream, line.message]).sort()).toEqual([
      ['stderr', 'to stderr'],
      ['stdout', `hello from ${id}`],
    ]);
    const seqs = output.nodes.map((node: any) => node.seq as number);
    expect(seqs).toEqual(seqs.map((_: number, index: number) => index + 1));

    // A finished task cannot be cancelled: the state machine's own code reaches the client through the router.
    const cancelled = await graphql(url, CANCEL_TASK, { id }, auth);
    expect(errorCodes(cancelled)).toEqual(['INVALID_TASK_TRANSITION']);
    expect(cancelled.errors![0]!.extensions).toMatchObject({ from: 'SUCCEEDED', to: 'CANCELLED' });
  });

  it('refuses hostile input with coded errors through the router', async () => {
    const created = await graphql(url, CREATE_CONVERSATION, { title: 'Hostile' }, auth);
    const conversationId = created.data!['createConversation'].id as string;

    const oversized = await graphql(
      url,
      POST_MESSAGE,
      { input: { conversationId, body: 'x'.repeat(40_000) } },
      auth,
    );
    expect(errorCodes(oversized)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(oversized.errors![0]!.extensions).toMatchObject({
      field: 'body',
      limitBytes: 32_768,
      receivedBytes: 40_000,
    });
    const read = await graphql(url, MESSAGES, { id: conversationId }, auth);
    expect(read.data!['conversation'].messages.edges).toEqual([]);

    const unknown = randomUUID();
    const logs = await graphql(url, TASK_LOGS, { id: unknown }, auth);
    expect(errorCodes(logs)).toEqual(['NOT_FOUND']);
    expect(logs.errors![0]!.extensions).toMatchObject({ id: unknown });
    expect(errorCodes(await graphql(url, CANCEL_TASK, { id: unknown }, auth))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await graphql(url, TASK_LOGS, { id: 'not-a-uuid' }, auth))).toEqual(['BAD_USER_INPUT']);

    // Anonymous callers reach neither subgraph's data.
    expect(errorCodes(await graphql(url, CREATE_CONVERSATION, { title: 'anon' }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(
      errorCodes(await graphql(url, CREATE_TASK, { input: { title: 'anon', command: 'true' } })),
    ).toEqual(['UNAUTHENTICATED']);
  });
});
