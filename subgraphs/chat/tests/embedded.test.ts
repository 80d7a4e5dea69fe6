import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@cap/db';
import { MemoryEventBus } from '@cap/messaging';
import { createLogger, MemoryKeyValueStore, signRouterToken } from '@cap/runtime';
import { asRouter, graphql, testSecret, userPrincipal } from '@cap/testkit';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig, startChat, type RunningChat } from '../src/index.js';
import {} from './harness.js';

/**
 * The embedded mode of `npm start`: PGlite instead of PostgreSQL, no Redis (in-process cache, fan-out and
 * ephemeral state). The migration's trigger, full-text search and live messages must work there too.
 */
let database: Database;
let chat: RunningChat;
let kv: MemoryKeyValueStore;
let bus: MemoryEventBus;
const secret = testSecret();
const dataDir = `/tmp/cap-chat-embedded-${randomUUID()}`;
beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite', dataDir: null });
  kv = new MemoryKeyValueStore();
  bus = new MemoryEventBus();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: 'silent',
  });
  chat = await startChat({
    config,
    database,
    kv,
    bus,
    logger: createLogger({ service: 'chat-embedded-test', level: 'silent' }),
  });
}, 60_000);
afterAll(async () => {
  await chat?.close();
  await bus?.close();
  await kv?.close();
  await database?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded mode (PGlite, no Redis)', () => {
  it('creates, posts, searches and streams messages', async () => {
    const alice = userPrincipal();
    const call = async (query: string, variables: Record<string, unknown> = {}) =>
      graphql(chat.subgraph.graphqlUrl, query, variables, await asRouter(secret, alice));
    const created = await call(
      `mutation { createConversation(input: { title: "embedded" }) { id latestCursor } }`,
    );
    const { id, latestCursor } = created.data!['createConversation'];
    const client = createClient({
      url: chat.subgraph.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: async () => ({
        routerToken: await signRouterToken(secret, {
          principal: alice,
          requestId: randomUUID(),
          clientIp: '198.51.100.7',
        }),
      }),
      retryAttempts: 0,
    });
    try {
      const received: string[] = [];
      const stop = client.subscribe<{ messagePosted: { body: string } }>(
        {
          query: `subscription($id: ID!, $after: String) { messagePosted(conversationId: $id, after: $after) { body } }`,
          variables: { id, after: latestCursor },
        },
        {
          next: (result) => received.push(result.data!.messagePosted.body),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      for (const body of ['embedded postgres works', 'and searching it too']) {
        const posted = await call(
          `mutation($input: PostMessageInput!) { postMessage(input: $input) { seq } }`,
          { input: { conversationId: id, body } },
        );
        expect(posted.errors).toBeUndefined();
      }
      await expect
        .poll(() => received, { timeout: 10_000 })
        .toEqual(['embedded postgres works', 'and searching it too']);
      stop();
      const found = await call(`{ searchMessages(query: "searches") { edges { node { snippet } } } }`);
      expect(found.data!['searchMessages'].edges).toEqual([
        { node: { snippet: 'and <mark>searching</mark> it too' } },
      ]);
      const page = await call(
        `query($id: ID!) { conversation(id: $id) { messages { edges { node { body } } } } }`,
        { id },
      );
      expect(page.data!['conversation'].messages.edges).toHaveLength(2);
    } finally {
      await client.dispose();
    }
  });
});
