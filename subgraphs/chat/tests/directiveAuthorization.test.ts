import { randomUUID } from 'node:crypto';
import { ANONYMOUS, type Principal } from '@cap/runtime';
import { errorCodes, userPrincipal, collectSubscription } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConversation, startChatHarness, type ChatHarness } from './harness.js';

// Calls with a valid router token, as if the router had let them through: the subgraph itself enforces the
// directives declared in its schema (ADR 0007).
let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness({ redis: false });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

/** An API key that reads tasks only: authenticated, without any chat scope. */
const tasksOnlyKey: Principal = {
  kind: 'apiKey',
  userId: randomUUID(),
  apiKeyId: randomUUID(),
  role: 'DEVELOPER',
  scopes: ['tasks:read'],
  tier: 'FREE',
};

describe('chat enforces its schema directives', () => {
  it('refuses postMessage (chat:write) to a VIEWER participant with FORBIDDEN naming the declaration, and posts nothing', async () => {
    const viewer = userPrincipal('VIEWER');
    const conversationId = await createConversation(h, userPrincipal('DEVELOPER'), [viewer]);
    const result = await h.call(
      `mutation($input: PostMessageInput!) { postMessage(input: $input) { id } }`,
      { input: { conversationId, body: 'hello' } },
      viewer,
    );
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      requirement: 'Mutation.postMessage',
      requiredScope: 'chat:write',
    });
    expect(await h.chat.deps.prisma.message.count({ where: { conversationId } })).toBe(0);
    // Reading is the VIEWER's to do.
    const read = await h.call(
      `query($id: ID!) { conversation(id: $id) { id } }`,
      { id: conversationId },
      viewer,
    );
    expect(read.errors).toBeUndefined();
  });

  it('refuses chat:read fields to anonymous callers (UNAUTHENTICATED) and to keys without the scope (FORBIDDEN)', async () => {
    const anonymous = await h.call(`{ conversations { edges { node { id } } } }`, {}, ANONYMOUS);
    expect(anonymous.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      requirement: 'Query.conversations',
    });
    const key = await h.call(
      `query($q: String!) { searchMessages(query: $q) { edges { node { rank } } } }`,
      { q: 'hello' },
      tasksOnlyKey,
    );
    expect(key.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requirement: 'Query.searchMessages',
      requiredScope: 'chat:read',
    });
  });

  it('refuses chatCacheStats (users:manage) to a DEVELOPER', async () => {
    const result = await h.call(`{ chatCacheStats { hits } }`, {}, userPrincipal('DEVELOPER'));
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requirement: 'Query.chatCacheStats',
    });
    expect((await h.call(`{ chatCacheStats { backend } }`, {}, userPrincipal('ADMIN'))).data).toEqual({
      chatCacheStats: { backend: 'memory' },
    });
  });

  it('refuses a subscription at its start over graphql-ws to callers without chat:read', async () => {
    const conversationId = await createConversation(h, userPrincipal('DEVELOPER'));
    const query = `subscription($id: ID!) { messagePosted(conversationId: $id) { id } }`;
    const anonymous = collectSubscription(
      h.wsClient(ANONYMOUS),
      query,
      { id: conversationId },
      'messagePosted',
    );
    expect(await anonymous.failure()).toEqual(['UNAUTHENTICATED']);
    const key = collectSubscription(h.wsClient(tasksOnlyKey), query, { id: conversationId }, 'messagePosted');
    expect(await key.failure()).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(key.errors)).toContain('Subscription.messagePosted');
  });
});
