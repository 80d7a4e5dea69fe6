import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  identity,
  alice,
  bob,
  carol,
  bearer,
  wsClient,
  subscribe,
  sleep,
  MESSAGE_POSTED,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * Subscriptions over graphql-ws through the router, against the real identity, chat and orchestration subgraphs: delivery with
 * entity fields resolved per event, batching, shaping, and refusals at subscribe time.
 */
useSubscriptionStack();

describe('graphql-ws through the router', () => {
  it('delivers to two clients with the author resolved by identity per event, and a client that reconnects with `after` gets what it missed exactly once, then live', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const aliceStream = subscribe(
      wsClient(bearer(alice.token)),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    const bobClient = wsClient(bearer(bob.token));
    const bobStream = subscribe(
      bobClient,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'hello 1');
    await Promise.all([aliceStream.waitFor(1), bobStream.waitFor(1)]);
    // `author.user.displayName` is identity's field: resolved per event through the query plan's `rest`.
    expect(bobStream.events[0]).toMatchObject({
      seq: 1,
      body: 'hello 1',
      author: { kind: 'USER', user: { id: alice.id, displayName: 'Alice' } },
    });
    // The cursor the router selects for itself never reaches the client.
    expect(Object.keys(bobStream.events[0]).sort()).toEqual(['author', 'body', 'cursor', 'id', 'seq']);

    const lastSeen = bobStream.events.at(-1)!.cursor as string;
    await bobClient.dispose();
    for (const body of ['missed 2', 'missed 3', 'missed 4']) await post(alice, conversationId, body);
    await aliceStream.waitFor(4);

    const again = subscribe(
      wsClient(bearer(bob.token)),
      MESSAGE_POSTED,
      { conversationId, after: lastSeen },
      'messagePosted',
    );
    await again.waitFor(3);
    await post(bob, conversationId, 'live 5');
    await again.waitFor(4);
    await post(alice, conversationId, 'live 6');
    await Promise.all([again.waitFor(5), aliceStream.waitFor(6)]);
    await sleep(300);
    expect(again.events.map((event) => event.body)).toEqual([
      'missed 2',
      'missed 3',
      'missed 4',
      'live 5',
      'live 6',
    ]);
    expect(again.events.at(-2)!.author.user).toEqual({ id: bob.id, displayName: 'Bob' });
    expect(aliceStream.events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...aliceStream.resultErrors, ...again.resultErrors]).toEqual([]);
  }, 30_000);

  it('fetches the entity fields of one event once for all the subscriptions of one caller (batched per tick)', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const streams = Array.from({ length: 10 }, () =>
      subscribe(
        wsClient(bearer(bob.token)),
        MESSAGE_POSTED,
        { conversationId, after: latestCursor },
        'messagePosted',
      ),
    );
    // Let every subscription reach chat before counting.
    await post(alice, conversationId, 'warm-up');
    await Promise.all(streams.map((stream) => stream.waitFor(1)));
    let identityRequests = 0;
    const count = (req: { url?: string }) => {
      if (req.url?.startsWith('/graphql')) identityRequests += 1;
    };
    identity.subgraph.server.on('request', count);
    try {
      await post(alice, conversationId, 'to ten subscribers');
      const events = await Promise.all(streams.map((stream) => stream.waitFor(2)));
      for (const [, second] of events)
        expect(second.author.user).toEqual({ id: alice.id, displayName: 'Alice' });
      // Ten events, one author: one `_entities` request (two if the events straddle two turns of the event loop).
      expect(identityRequests).toBeGreaterThanOrEqual(1);
      expect(identityRequests).toBeLessThanOrEqual(2);
    } finally {
      identity.subgraph.server.off('request', count);
    }
  }, 20_000);

  it('shapes each event as the client asked: aliases, fragments, @include, __typename, entity fields under fragments', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const client = wsClient(bearer(bob.token));
    const plain = subscribe(
      client,
      `subscription($c: ID!, $a: String) { posted: messagePosted(conversationId: $c, after: $a) { text: body __typename } }`,
      { c: conversationId, a: latestCursor },
      'posted',
    );
    const shaped = subscribe(
      client,
      `subscription($c: ID!, $a: String, $withSeq: Boolean!) { messagePosted(conversationId: $c, after: $a) { ...M seq @include(if: $withSeq) } }
       fragment M on Message { body author { ... on MessageAuthor { user { displayName } } } }`,
      { c: conversationId, a: latestCursor, withSeq: false },
      'messagePosted',
    );
    await post(alice, conversationId, 'shaped');
    await Promise.all([plain.waitFor(1), shaped.waitFor(1)]);
    expect(plain.events).toEqual([{ text: 'shaped', __typename: 'Message' }]);
    expect(shaped.events).toEqual([{ body: 'shaped', author: { user: { displayName: 'Alice' } } }]);
  }, 20_000);

  it('refuses at subscribe time with coded errors: non-participants FORBIDDEN, invalid operations, queries, too many subscriptions', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const intruder = subscribe(
      wsClient(bearer(carol.token)),
      MESSAGE_POSTED,
      { conversationId },
      'messagePosted',
    );
    expect(await intruder.failure()).toEqual(['FORBIDDEN']);
    // Sent as the graphql-ws `error` message (a list of errors), not as a result.
    expect(Array.isArray(intruder.failedWith)).toBe(true);

    const client = wsClient(bearer(alice.token));
    const invalid = subscribe(
      client,
      `subscription($id: ID!) { messagePosted(conversationId: $id) { nope } }`,
      { id: conversationId },
      'messagePosted',
    );
    expect(await invalid.failure()).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const query = subscribe(client, `query { __typename }`, {}, '__typename');
    expect(await query.failure()).toEqual(['BAD_USER_INPUT']);
    const badVariables = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId: { not: 'an id' } },
      'messagePosted',
    );
    expect(await badVariables.failure()).toEqual(['BAD_USER_INPUT']);
    const unknown = subscribe(client, MESSAGE_POSTED, { conversationId: randomUUID() }, 'messagePosted');
    expect(await unknown.failure()).toEqual(['NOT_FOUND']);

    // From the cursor read at creation: a post racing the subscriptions' start is replayed, not missed.
    const running = Array.from({ length: 5 }, () =>
      subscribe(client, MESSAGE_POSTED, { conversationId, after: latestCursor }, 'messagePosted'),
    );
    const sixth = subscribe(client, MESSAGE_POSTED, { conversationId }, 'messagePosted');
    expect(await sixth.failure()).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    await post(alice, conversationId, 'to the five');
    await Promise.all(running.map((stream) => stream.waitFor(1)));
  }, 30_000);
});
