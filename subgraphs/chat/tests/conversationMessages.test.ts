import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal } from '@cap/testkit';
import { encodeMessageCursor } from '../src/domain/validation.js';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';

/**
 * N+1 guard for `conversations { messages }`: listing 50 conversations with a page of messages each (and their
 * attachments) costs the same number of SQL statements as listing 5, on the database paths (`last`, `after`) and
 * when the newest page misses the cache; and every conversation still gets its own messages.
 *
 * The counter also sees the outbox relay's idle poll (two statements every 250 ms) when it falls inside a
 * request; repeatable reads therefore take the fewest of a few attempts.
 */
let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness({ countStatements: true });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const LIST = /* GraphQL */ `
  query ($conversations: Int!, $first: Int, $after: String, $last: Int) {
    conversations(first: $conversations) {
      edges {
        node {
          id
          messages(first: $first, after: $after, last: $last) {
            edges {
              node {
                seq
                body
                conversation {
                  id
                }
                attachments {
                  id
                  fileName
                }
              }
            }
            pageInfo {
              hasNextPage
              hasPreviousPage
            }
          }
        }
      }
    }
  }
`;

/** A user taking part in `count` conversations of 3 messages each (an attachment on every first message). */
async function userWithConversations(count: number): Promise<ReturnType<typeof userPrincipal>> {
  const owner = userPrincipal();
  for (let index = 0; index < count; index += 1) {
    const id = await createConversation(h, owner);
    for (let seq = 1; seq <= 3; seq += 1) await post(h, owner, id, `${id} message ${seq}`);
    const first = await h.chat.deps.prisma.message.findFirstOrThrow({
      where: { conversationId: id, seq: 1 },
    });
    await h.chat.deps.prisma.attachment.create({
      data: {
        conversationId: id,
        messageId: first.id,
        uploaderId: owner.userId,
        fileName: 'notes.txt',
        contentType: 'text/plain',
        maxBytes: 10,
        size: 10,
        status: 'READY',
        uploadExpiresAt: new Date(),
      },
    });
  }
  return owner;
}

async function measure(
  owner: ReturnType<typeof userPrincipal>,
  variables: Record<string, unknown>,
): Promise<{ statements: number; data: any }> {
  const before = h.statements();
  const result = await h.call(LIST, variables, owner);
  expect(result.errors).toBeUndefined();
  return { statements: h.statements() - before, data: result.data };
}

/** The fewest statements of three identical reads (a read the relay's poll overlapped counts two more). */
async function fewest(
  owner: ReturnType<typeof userPrincipal>,
  variables: Record<string, unknown>,
): Promise<{ statements: number; data: any }> {
  const attempts = [];
  for (let attempt = 0; attempt < 3; attempt += 1) attempts.push(await measure(owner, variables));
  return attempts.reduce((best, next) => (next.statements < best.statements ? next : best));
}

/** Each conversation's page holds its own messages only, newest first, with the attachment where it belongs. */
function expectOwnMessages(data: any, expectedSeqs: number[]): void {
  for (const edge of data.conversations.edges) {
    const messages = edge.node.messages.edges.map((message: any) => message.node);
    expect(messages.map((message: any) => message.seq)).toEqual(expectedSeqs);
    for (const message of messages) {
      expect(message.conversation.id).toBe(edge.node.id);
      expect(message.body).toBe(`${edge.node.id} message ${message.seq}`);
      expect(message.attachments).toHaveLength(message.seq === 1 ? 1 : 0);
    }
  }
}

describe('Conversation.messages in a list', () => {
  it('costs the same SQL statements for 50 conversations as for 5 (database pages, and the newest page on a cold cache)', async () => {
    const few = await userWithConversations(5);
    const many = await userWithConversations(50);

    // Pages below a cursor, while nothing filled the cache: from the database, every time.
    const after = encodeMessageCursor(3);
    const olderFew = await fewest(few, { conversations: 5, first: 2, after });
    const olderMany = await fewest(many, { conversations: 50, first: 2, after });
    expect(olderMany.data.conversations.edges).toHaveLength(50);
    expectOwnMessages(olderMany.data, [2, 1]);
    expectOwnMessages(olderFew.data, [2, 1]);
    // The counter does count: conversations, access, ranking, messages, attachments at least.
    expect(olderFew.statements).toBeGreaterThanOrEqual(4);
    expect(olderMany.statements).toBe(olderFew.statements);

    // `last` pages never use the cache.
    const lastFew = await fewest(few, { conversations: 5, last: 2 });
    const lastMany = await fewest(many, { conversations: 50, last: 2 });
    expectOwnMessages(lastMany.data, [2, 1]);
    expect(lastMany.statements).toBe(lastFew.statements);

    // The newest page misses the cache once per conversation (then the window is filled): still one batch.
    const coldFew = await measure(few, { conversations: 5, first: 2 });
    const coldMany = await measure(many, { conversations: 50, first: 2 });
    expectOwnMessages(coldMany.data, [3, 2]);
    expectOwnMessages(coldFew.data, [3, 2]);
    expect(coldMany.statements).toBeLessThanOrEqual(olderFew.statements + 2);
  }, 120_000);
});
