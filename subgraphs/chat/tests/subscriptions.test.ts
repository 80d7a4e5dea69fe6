import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal, collectSubscription } from '@cap/testkit';
import { Redis } from 'ioredis';
import { createConversation, post, REDIS_URL, startChatHarness, type ChatHarness } from './harness.js';
import { encodeMessageCursor } from '../src/domain/validation.js';

let h: ChatHarness;
beforeAll(async () => {
  // Short typing indicators, so the lapse is observed quickly.
  h = await startChatHarness({ env: { TYPING_TTL_SECONDS: '2' } });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const MESSAGE_POSTED = /* GraphQL */ `
  subscription ($conversationId: ID!, $after: String) {
    messagePosted(conversationId: $conversationId, after: $after) {
      id
      seq
      cursor
      body
      author {
        user {
          id
        }
      }
    }
  }
`;

/** A conversation and the cursor to subscribe from so that nothing posted after its creation is missed. */
async function conversationWithCursor(
  creator: ReturnType<typeof userPrincipal>,
  others: Array<ReturnType<typeof userPrincipal>> = [],
): Promise<{ conversationId: string; start: string }> {
  const created = await h.call(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id latestCursor } }`,
    { input: { title: 'live', participantUserIds: others.map((other) => other.userId) } },
    creator,
  );
  return {
    conversationId: created.data!['createConversation'].id,
    start: created.data!['createConversation'].latestCursor,
  };
}

const seqs = (events: Array<{ seq: number }>): number[] => events.map((event) => event.seq);

/** The messages of `conversationId` after `after` (when given) as `client` receives them. */
function messagePosted(
  client: ReturnType<ChatHarness['wsClient']>,
  variables: { conversationId: string; after?: string },
) {
  return collectSubscription(client, MESSAGE_POSTED, variables, 'messagePosted');
}

/** Stores a message by `author` without announcing it live, as if Redis had dropped its announcement. */
async function storeUnannounced(
  conversationId: string,
  author: ReturnType<typeof userPrincipal>,
  body: string,
): Promise<void> {
  await h.chat.deps.prisma.$transaction(async (tx) => {
    const { lastSeq } = await tx.conversation.update({
      where: { id: conversationId },
      data: { lastSeq: { increment: 1 } },
    });
    await tx.message.create({
      data: { conversationId, seq: lastSeq, authorKind: 'USER', authorUserId: author.userId, body },
    });
  });
}

describe('messagePosted', () => {
  it('delivers to two graphql-ws clients, and replays exactly what a reconnecting client missed, then tails live', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const { conversationId, start } = await conversationWithCursor(alice, [bob]);
    const aliceClient = h.wsClient(alice);
    const bobClient = h.wsClient(bob);
    // From the cursor read at creation: whatever happens between that read and the subscription is replayed.
    const aliceStream = messagePosted(aliceClient, { conversationId, after: start });
    const bobStream = messagePosted(bobClient, { conversationId, after: start });
    await post(h, alice, conversationId, 'hello 1');
    await Promise.all([aliceStream.waitFor(1), bobStream.waitFor(1)]);
    expect(bobStream.events[0]).toMatchObject({
      seq: 1,
      body: 'hello 1',
      author: { user: { id: alice.userId } },
    });

    // Bob drops off; three messages arrive while he is away.
    const lastSeen = bobStream.events.at(-1)!.cursor as string;
    await bobClient.dispose();
    for (const body of ['missed 2', 'missed 3', 'missed 4']) await post(h, alice, conversationId, body);
    await aliceStream.waitFor(4);

    // Bob comes back with the last cursor he saw: the missed messages once, in order, then live ones.
    const again = messagePosted(h.wsClient(bob), { conversationId, after: lastSeen });
    await again.waitFor(3);
    await post(h, bob, conversationId, 'live 5');
    await again.waitFor(4);
    await post(h, alice, conversationId, 'live 6');
    await again.waitFor(5);
    await aliceStream.waitFor(6);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(again.events.map((event) => event.body)).toEqual([
      'missed 2',
      'missed 3',
      'missed 4',
      'live 5',
      'live 6',
    ]);
    expect(seqs(aliceStream.events)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('without a cursor, starts with the next message posted', async () => {
    const alice = userPrincipal();
    const conversationId = await createConversation(h, alice);
    await post(h, alice, conversationId, 'before');
    const stream = messagePosted(h.wsClient(alice), { conversationId });
    // The subscription becomes active asynchronously; keep posting until it reports.
    for (let attempt = 0; attempt < 50 && stream.events.length === 0; attempt += 1) {
      await post(h, alice, conversationId, `after ${attempt}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [first] = await stream.waitFor(1);
    expect(first.body).toMatch(/^after \d+$/);
    const next = await post(h, alice, conversationId, 'next');
    const events = await stream.waitFor(next.seq - first.seq + 1);
    expect(events.at(-1)!.seq).toBe(next.seq);
    expect(seqs(events)).toEqual(Array.from({ length: events.length }, (_, index) => first.seq + index));
  });

  it('refuses non-participants with FORBIDDEN at subscribe time, and unknown conversations with NOT_FOUND', async () => {
    const alice = userPrincipal();
    const conversationId = await createConversation(h, alice);
    const intruder = messagePosted(h.wsClient(userPrincipal()), { conversationId });
    expect(await intruder.failure()).toEqual(['FORBIDDEN']);
    const unknown = messagePosted(h.wsClient(alice), { conversationId: crypto.randomUUID() });
    expect(await unknown.failure()).toEqual(['NOT_FOUND']);
    const bad = messagePosted(h.wsClient(alice), { conversationId, after: 'not a cursor' });
    expect(await bad.failure()).toEqual(['BAD_USER_INPUT']);
    const ahead = messagePosted(h.wsClient(alice), { conversationId, after: encodeMessageCursor(99) });
    expect(await ahead.failure()).toEqual(['BAD_USER_INPUT']);
    // GraphQL's own errors keep their meaning (and Apollo's codes) over graphql-ws too.
    const invalid = collectSubscription(
      h.wsClient(alice),
      `subscription($id: ID!) { messagePosted(conversationId: $id) { nope } }`,
      { id: conversationId },
      'messagePosted',
    );
    expect(await invalid.failure()).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(JSON.stringify(invalid.errors)).toContain('nope');
  });

  it('masks unexpected failures at subscribe time as INTERNAL_SERVER_ERROR, without details', async () => {
    const alice = userPrincipal();
    const conversationId = await createConversation(h, alice);
    await h.chat.deps.prisma.$executeRawUnsafe(
      'ALTER TABLE "chat"."participants" RENAME TO "participants_away"',
    );
    try {
      const broken = messagePosted(h.wsClient(alice), { conversationId });
      expect(await broken.failure()).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(broken.errors)).not.toMatch(/participants|prisma|table|relation/i);
    } finally {
      await h.chat.deps.prisma.$executeRawUnsafe(
        'ALTER TABLE "chat"."participants_away" RENAME TO "participants"',
      );
    }
  });

  it('replays from the start with the empty-conversation cursor and fills gaps when a live hint was lost', async () => {
    const alice = userPrincipal();
    const created = await h.call(
      `mutation { createConversation(input: { title: "gaps" }) { id latestCursor } }`,
      {},
      alice,
    );
    const { id: conversationId, latestCursor } = created.data!['createConversation'];
    await post(h, alice, conversationId, 'one');
    const stream = messagePosted(h.wsClient(alice), { conversationId, after: latestCursor });
    await stream.waitFor(1);
    // A message whose live announcement never happened (as if Redis dropped it): stored directly.
    await storeUnannounced(conversationId, alice, 'silent two');
    await post(h, alice, conversationId, 'three');
    await stream.waitFor(3);
    expect(stream.events.map((event) => event.body)).toEqual(['one', 'silent two', 'three']);
  });

  it('catches up after the Redis subscriber connection drops (messages published meanwhile are lost to it)', async () => {
    const alice = userPrincipal();
    const { conversationId, start } = await conversationWithCursor(alice);
    const stream = messagePosted(h.wsClient(alice), { conversationId, after: start });
    await post(h, alice, conversationId, 'before the drop');
    await stream.waitFor(1);
    // A message nobody announces, then the subscriber connection dies: only the resync after reconnecting finds it.
    await storeUnannounced(conversationId, alice, 'while disconnected');
    const admin = new Redis(REDIS_URL);
    try {
      const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n');
      const ours = clients.filter((line) =>
        line.includes(` name=${h.env['REDIS_KEY_PREFIX']}live-subscriber `),
      );
      expect(ours.length).toBeGreaterThan(0);
      for (const line of ours) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
    } finally {
      admin.disconnect();
    }
    await stream.waitFor(2);
    expect(stream.events.map((event) => event.body)).toEqual(['before the drop', 'while disconnected']);
    await post(h, alice, conversationId, 'after reconnecting');
    await stream.waitFor(3);
  });

  it('reaches a subscriber on another instance, and survives a restart of that instance without gap or duplicate', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const { conversationId, start } = await conversationWithCursor(alice, [bob]);
    const instanceB = await h.startInstance();
    const onB = messagePosted(h.wsClient(bob, instanceB), { conversationId, after: start });
    // Posted through instance A (h.call), received on B (Redis pub/sub).
    await post(h, alice, conversationId, 'A to B 1');
    await onB.waitFor(1);
    await post(h, alice, conversationId, 'A to B 2');
    await onB.waitFor(2);

    // B goes down mid-stream; messages keep coming through A.
    await instanceB.close();
    await onB.done;
    const resumeAfter = onB.events.at(-1)!.cursor as string;
    for (const body of ['during restart 3', 'during restart 4']) await post(h, alice, conversationId, body);
    const instanceB2 = await h.startInstance();
    const resumed = messagePosted(h.wsClient(bob, instanceB2), { conversationId, after: resumeAfter });
    await resumed.waitFor(2);
    await post(h, alice, conversationId, 'after restart 5');
    await resumed.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...seqs(onB.events), ...seqs(resumed.events)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps order and completeness under concurrent posting through two instances', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const { conversationId, start } = await conversationWithCursor(alice, [bob]);
    const instanceB = await h.startInstance();
    const watcher = messagePosted(h.wsClient(alice), { conversationId, after: start });
    await post(h, alice, conversationId, 'warm-up');
    await watcher.waitFor(1);
    const { graphql, asRouter } = await import('@cap/testkit');
    const viaB = async (body: string) =>
      graphql(
        instanceB.subgraph.graphqlUrl,
        `
          mutation ($input: PostMessageInput!) {
            postMessage(input: $input) {
              seq
            }
          }
        `,
        { input: { conversationId, body } },
        await asRouter(h.secret, bob),
      );
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        index % 2 === 0 ? post(h, alice, conversationId, `a${index}`) : viaB(`b${index}`),
      ),
    );
    await watcher.waitFor(21);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seqs(watcher.events)).toEqual(Array.from({ length: 21 }, (_, index) => index + 1));
  });
});
