import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, seededRandom, userPrincipal } from '@cap/testkit';
import { loadMessageViews } from '../src/domain/messages.js';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';

const PAGE = /* GraphQL */ `
  query ($id: ID!, $first: Int, $after: String) {
    conversation(id: $id) {
      messages(first: $first, after: $after) {
        edges {
          node {
            seq
            body
            deletedAt
            attachments {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;
const STATS = /* GraphQL */ `
  {
    chatCacheStats {
      backend
      hits
      misses
      errors
      hitRate
    }
  }
`;

describe.each([
  { backend: 'redis', redis: true },
  { backend: 'memory', redis: false },
])('recent-message cache ($backend)', ({ backend, redis }) => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatHarness({ redis });
  });
  afterAll(async () => {
    await h?.[Symbol.asyncDispose]();
  });

  it('serves a realistic read mix with a hit rate above 80%, and every page equals the database', async () => {
    const people = [userPrincipal(), userPrincipal(), userPrincipal()];
    const conversations: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const id = await createConversation(h, people[0]!, people.slice(1));
      // History from before this instance started (written directly, as a previous run would have left it).
      await h.chat.deps.prisma.message.createMany({
        data: Array.from({ length: 70 }, (_, message) => ({
          conversationId: id,
          seq: message + 1,
          authorKind: 'USER' as const,
          authorUserId: people[message % 3]!.userId,
          body: `history ${message}`,
        })),
      });
      await h.chat.deps.prisma.conversation.update({ where: { id }, data: { lastSeq: 70 } });
      conversations.push(id);
    }
    const start = (await h.call(STATS, {}, userPrincipal('ADMIN'))).data!['chatCacheStats'];
    const next = seededRandom(42);
    const mine = new Map<string, string[]>();
    for (let operation = 0; operation < 250; operation += 1) {
      const conversationId = conversations[Math.floor(next() * conversations.length)]!;
      const actor = people[Math.floor(next() * people.length)]!;
      const roll = next();
      if (roll < 0.65) {
        const result = await h.call(PAGE, { id: conversationId }, actor);
        expect(result.errors).toBeUndefined();
      } else if (roll < 0.8) {
        const first = await h.call(PAGE, { id: conversationId, first: 20 }, actor);
        const after = first.data!['conversation'].messages.pageInfo.endCursor;
        expect((await h.call(PAGE, { id: conversationId, first: 20, after }, actor)).errors).toBeUndefined();
      } else if (roll < 0.95) {
        const message = await post(h, actor, conversationId, `live ${operation}`);
        mine.set(actor.userId, [...(mine.get(actor.userId) ?? []), message.id]);
      } else {
        const own = mine.get(actor.userId) ?? [];
        const target = own[Math.floor(next() * own.length)];
        if (!target) continue;
        if (roll < 0.98) {
          await h.call(
            `mutation($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
            { input: { messageId: target, body: `edited ${operation}` } },
            actor,
          );
        } else {
          await h.call(`mutation($id: ID!) { deleteMessage(messageId: $id) { id } }`, { id: target }, actor);
        }
      }
    }
    const end = (await h.call(STATS, {}, userPrincipal('ADMIN'))).data!['chatCacheStats'];
    const hits = end.hits - start.hits;
    const misses = end.misses - start.misses;
    expect(end.backend).toBe(backend);
    expect(end.errors).toBe(0);
    expect(hits / (hits + misses), `${hits} hits, ${misses} misses`).toBeGreaterThan(0.8);

    // Whatever the cache served matches the database exactly (posts, edits and deletes applied in place).
    for (const conversationId of conversations) {
      const served = (await h.call(PAGE, { id: conversationId }, people[0])).data![
        'conversation'
      ].messages.edges.map((edge: any) => edge.node);
      const stored = await loadMessageViews(h.chat.deps.prisma, conversationId, { order: 'desc', limit: 50 });
      expect(served).toEqual(
        stored.map((view) => ({
          seq: view.seq,
          body: view.deletedAt ? null : view.body,
          deletedAt: view.deletedAt?.toISOString() ?? null,
          attachments: [],
        })),
      );
    }
  });

  it('keeps pages right across window trimming, and never lets a stale fill overwrite a newer change', async () => {
    const alice = userPrincipal();
    const id = await createConversation(h, alice);
    for (let index = 1; index <= 120; index += 1) await post(h, alice, id, `m${index}`);
    // The window holds the newest 100: a page reaching below it comes from the database, still right.
    const deep = await h.call(PAGE, { id, first: 50 }, alice);
    const second = await h.call(
      PAGE,
      { id, first: 50, after: deep.data!['conversation'].messages.pageInfo.endCursor },
      alice,
    );
    const third = await h.call(
      PAGE,
      { id, first: 50, after: second.data!['conversation'].messages.pageInfo.endCursor },
      alice,
    );
    const seqs = [deep, second, third].flatMap((page) =>
      page.data!['conversation'].messages.edges.map((edge: any) => edge.node.seq),
    );
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, index) => 120 - index));

    // A reader that loaded the newest messages before an edit must not install them after it.
    const other = await createConversation(h, alice);
    const message = await post(h, alice, other, 'original');
    const { deps } = h.chat;
    const stale = await deps.recent.page(other, { limit: 51 }, async (options) => {
      const snapshot = await loadMessageViews(deps.prisma, other, { order: 'desc', limit: options.limit });
      // The edit commits (and is applied to the cache) while this reader holds its snapshot.
      await h.call(
        `mutation($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
        { input: { messageId: message.id, body: 'edited' } },
        alice,
      );
      return snapshot;
    });
    expect(stale.map((view) => view.body)).toEqual(['original']);
    const fresh = await h.call(PAGE, { id: other }, alice);
    expect(fresh.data!['conversation'].messages.edges.map((edge: any) => edge.node.body)).toEqual(['edited']);
  });

  it('exports its counters to admins only', async () => {
    expect(errorCodes(await h.call(STATS, {}, userPrincipal('DEVELOPER')))).toEqual(['FORBIDDEN']);
    expect((await h.call(STATS, {}, userPrincipal('ADMIN'))).data!['chatCacheStats'].backend).toBe(backend);
  });
});
