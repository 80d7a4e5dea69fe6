import { randomUUID } from 'node:crypto';
import { startRedisServer, type TestRedisServer, userPrincipal, collectSubscription } from '@cap/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';

const POLL_MS = 200;

const ACTIVITY = /* GraphQL */ `
  query ($id: ID!) {
    conversation(id: $id) {
      id
      onlineUsers {
        id
      }
      typingUsers {
        id
      }
    }
  }
`;

const LIST_ACTIVITY = /* GraphQL */ `
  query ($first: Int!) {
    conversations(first: $first) {
      edges {
        node {
          id
          onlineUsers {
            id
          }
          typingUsers {
            id
          }
        }
      }
    }
  }
`;

/** Subscribers Redis counts on `channel`. */
async function numsub(redis: TestRedisServer, channel: string): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  try {
    const [, count] = (await client.pubsub('NUMSUB', channel)) as [string, number];
    return count;
  } finally {
    client.disconnect();
  }
}

/** Polls `probe` every 50 ms until it holds; fails after 15 s. */
async function waitUntil(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('chat through a Redis outage', () => {
  let redis: TestRedisServer;
  let h: ChatHarness;

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startChatHarness({
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
        LIVE_POLL_INTERVAL_MS: String(POLL_MS),
      },
    });
  });
  afterAll(async () => {
    await h?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });
  // Each test starts with chat connected to Redis again (an earlier test restarted it).
  beforeEach(async () => {
    await waitUntil(
      async () =>
        ((await (await fetch(`${h.chat.subgraph.url}/ready`)).json()) as { status: string }).status ===
        'ready',
      'chat reconnected to Redis',
    );
  });

  it('serves a messagePosted subscription opened during the outage from the database, then live, without gap or duplicate', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const conversationId = await createConversation(h, alice, [bob]);
    const before = await post(h, alice, conversationId, 'before the outage');
    await redis.stop();
    try {
      // From the last message read (a client's cursor), so the test need not know when the subscription is active.
      const events = collectSubscription<{ seq: number; body: string }>(
        h.wsClient(bob),
        `subscription($id: ID!, $after: String) { messagePosted(conversationId: $id, after: $after) { seq body } }`,
        { id: conversationId, after: before.cursor },
        'messagePosted',
      );
      // Posting works without Redis, and the subscriber gets the messages by polling the database.
      for (const body of ['during 1', 'during 2', 'during 3']) await post(h, alice, conversationId, body);
      await events.waitFor(3, 15_000);
      await redis.start();
      // Once Redis is back the topic is subscribed again (live), and a few more messages follow.
      const channel = `${h.env['REDIS_KEY_PREFIX']}live:messages:${conversationId}`;
      await waitUntil(async () => (await numsub(redis, channel)) >= 1, 'the topic subscribed again');
      for (const body of ['after 1', 'after 2', 'after 3', 'after 4'])
        await post(h, bob, conversationId, body);
      await events.waitFor(7, 15_000);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3));
      expect(events.errors).toEqual([]);
      expect(events.events).toEqual(
        ['during 1', 'during 2', 'during 3', 'after 1', 'after 2', 'after 3', 'after 4'].map(
          (body, index) => ({ seq: index + 2, body }),
        ),
      );
      events.stop();
    } finally {
      if (!redis.running) await redis.start();
    }
  });

  it('answers onlineUsers and typingUsers with empty lists, not an error, while Redis is down', async () => {
    const alice = userPrincipal();
    const conversationId = await createConversation(h, alice);
    const heartbeat = await h.call(
      `mutation($id: ID!) { heartbeat(conversationId: $id, online: true) { online } }`,
      { id: conversationId },
      alice,
    );
    expect(heartbeat.errors).toBeUndefined();
    expect(
      (await h.call(ACTIVITY, { id: conversationId }, alice)).data?.['conversation'].onlineUsers,
    ).toEqual([{ id: alice.userId }]);
    await redis.stop();
    try {
      const answer = await h.call(ACTIVITY, { id: conversationId }, alice);
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.['conversation']).toEqual({ id: conversationId, onlineUsers: [], typingUsers: [] });
      const list = await h.call(LIST_ACTIVITY, { first: 10 }, alice);
      expect(list.errors).toBeUndefined();
      for (const edge of list.data?.['conversations'].edges ?? [])
        expect(edge.node).toMatchObject({ onlineUsers: [], typingUsers: [] });
    } finally {
      await redis.start();
    }
  });

  it('reads typing and presence of a list of N conversations with one Redis command, whatever N', async () => {
    const monitor = new Redis(redis.url);
    try {
      for (const n of [1, 4, 13]) {
        const alice = userPrincipal();
        const ids: string[] = [];
        for (let i = 0; i < n; i += 1) ids.push(await createConversation(h, alice));
        // Someone is online in every other conversation, so the answer is not trivially empty.
        for (const id of ids.filter((_, index) => index % 2 === 0)) {
          const beat = await h.call(
            `mutation($id: ID!) { heartbeat(conversationId: $id, online: true) { online } }`,
            { id },
            alice,
          );
          expect(beat.errors).toBeUndefined();
        }
        // Warm-up: a Redis that restarted has no scripts cached, and its first EVALSHA is answered NOSCRIPT and
        // resent as EVAL (two commands, once per restart).
        expect((await h.call(LIST_ACTIVITY, { first: 50 }, alice)).errors).toBeUndefined();
        const commands: string[][] = [];
        const session = await monitor.monitor();
        // Commands a client sends (not the ones a script runs: MONITOR tags those with "lua") on ephemeral keys.
        session.on('monitor', (_time: string, args: string[], source: string) => {
          if (!source.includes('lua') && args.some((arg) => arg.includes('eph:'))) commands.push(args);
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        const answer = await h.call(LIST_ACTIVITY, { first: 50 }, alice);
        await new Promise((resolve) => setTimeout(resolve, 200));
        session.disconnect();
        expect(answer.errors).toBeUndefined();
        const nodes = answer.data!['conversations'].edges.map(
          (edge: { node: unknown }) => edge.node,
        ) as Array<{ id: string; onlineUsers: Array<{ id: string }> }>;
        expect(nodes).toHaveLength(n);
        for (const node of nodes) {
          expect(node.onlineUsers).toEqual(ids.indexOf(node.id) % 2 === 0 ? [{ id: alice.userId }] : []);
        }
        expect({ n, commands: commands.length }).toEqual({ n, commands: 1 });
      }
    } finally {
      monitor.disconnect();
    }
  });

  it('answers /ready with 200 degraded naming Redis while it is down', async () => {
    await redis.stop();
    try {
      const response = await fetch(`${h.chat.subgraph.url}/ready`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { status: string; degraded: string[] };
      expect(body.status).toBe('degraded');
      expect(body.degraded).toContain('live:redis');
      const external = await fetch(`${h.chat.subgraph.url}/ready`, {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      expect(await external.json()).toEqual({ service: 'chat', status: 'degraded' });
    } finally {
      await redis.start();
    }
  });
});
