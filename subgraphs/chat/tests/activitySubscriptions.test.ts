import { collectSubscription, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';

// Edits, typing indicators and presence over graphql-ws (messagePosted is in subscriptions.test.ts).
let h: ChatHarness;
beforeAll(async () => {
  // Short typing indicators, so the lapse is observed quickly.
  h = await startChatHarness({ env: { TYPING_TTL_SECONDS: '2' } });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('messageUpdated, typing and presence', () => {
  it('announces edits, deletions and attachments as they happen', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const conversationId = await createConversation(h, alice, [bob]);
    const message = await post(h, alice, conversationId, 'draft');
    const updates = collectSubscription(
      h.wsClient(bob),
      `subscription($id: ID!) { messageUpdated(conversationId: $id) { id body deletedAt edits { body } } }`,
      { id: conversationId },
      'messageUpdated',
    );
    // The subscription starts asynchronously: edit until the first announcement arrives.
    for (let attempt = 0; attempt < 50 && updates.events.length === 0; attempt += 1) {
      await h.call(
        `mutation($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
        { input: { messageId: message.id, body: `final ${attempt}` } },
        alice,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await updates.waitFor(1);
    expect(updates.events[0]).toMatchObject({ id: message.id, body: expect.stringMatching(/^final/) });
    const count = updates.events.length;
    await h.call(`mutation($id: ID!) { deleteMessage(messageId: $id) { id } }`, { id: message.id }, alice);
    const [, deleted] = [count, (await updates.waitFor(count + 1)).at(-1)];
    expect(deleted).toMatchObject({ id: message.id, body: null, edits: [] });
  });

  it('shows who types (lapsing after the TTL) and who is online', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const conversationId = await createConversation(h, alice, [bob]);
    const typing = collectSubscription(
      h.wsClient(bob),
      `subscription($id: ID!) { typing(conversationId: $id) { user { id } typing } }`,
      { id: conversationId },
      'typing',
    );
    const SET_TYPING = `mutation($id: ID!, $typing: Boolean) { setTyping(conversationId: $id, typing: $typing) { typing } }`;
    for (let attempt = 0; attempt < 50 && typing.events.length === 0; attempt += 1) {
      await h.call(SET_TYPING, { id: conversationId }, alice);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await typing.waitFor(1);
    expect(typing.events[0]).toEqual({ user: { id: alice.userId }, typing: true });
    expect(
      (
        await h.call(
          `query($id: ID!) { conversation(id: $id) { typingUsers { id } } }`,
          { id: conversationId },
          bob,
        )
      ).data!['conversation'].typingUsers,
    ).toEqual([{ id: alice.userId }]);
    await h.call(SET_TYPING, { id: conversationId, typing: false }, alice);
    await typing.waitFor(2);
    expect(typing.events[1]).toEqual({ user: { id: alice.userId }, typing: false });
    // Bob's own typing is not echoed to him; Alice typing again lapses on its own after TYPING_TTL_SECONDS (2 s here).
    await h.call(SET_TYPING, { id: conversationId }, bob);
    await h.call(SET_TYPING, { id: conversationId }, alice);
    await typing.waitFor(3);
    const started = Date.now();
    await typing.waitFor(4, 10_000);
    expect(typing.events.slice(2)).toEqual([
      { user: { id: alice.userId }, typing: true },
      { user: { id: alice.userId }, typing: false },
    ]);
    expect(Date.now() - started).toBeGreaterThan(1_500);

    const HEARTBEAT = `mutation($id: ID!, $online: Boolean) { heartbeat(conversationId: $id, online: $online) { online expiresAt } }`;
    const beat = await h.call(HEARTBEAT, { id: conversationId }, alice);
    expect(beat.data!['heartbeat'].online).toBe(true);
    const presence = collectSubscription(
      h.wsClient(bob),
      `subscription($id: ID!) { presence(conversationId: $id) { user { id } online } }`,
      { id: conversationId },
      'presence',
    );
    await presence.waitFor(1);
    expect(presence.events[0]).toEqual({ user: { id: alice.userId }, online: true });
    await h.call(HEARTBEAT, { id: conversationId, online: false }, alice);
    await presence.waitFor(2);
    expect(presence.events[1]).toEqual({ user: { id: alice.userId }, online: false });
    expect(
      (
        await h.call(
          `query($id: ID!) { conversation(id: $id) { onlineUsers { id } } }`,
          { id: conversationId },
          bob,
        )
      ).data!['conversation'].onlineUsers,
    ).toEqual([]);
  });
});
