import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { createConversation, post, POST, startChatHarness, type ChatHarness } from './harness.js';

let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness({ countStatements: true });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const PAGE = /* GraphQL */ `
  query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    conversation(id: $id) {
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            seq
            body
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`;

async function postMany(
  conversationId: string,
  author: ReturnType<typeof userPrincipal>,
  count: number,
  prefix = 'message',
): Promise<void> {
  for (let index = 1; index <= count; index += 1) await post(h, author, conversationId, `${prefix} ${index}`);
}

describe('messages', () => {
  it('posts, edits with history, and deletes to a tombstone; only the author may change a message', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const id = await createConversation(h, alice, [bob]);
    const posted = await post(h, alice, id, '# Hello\n\nFirst **draft**');
    expect(posted).toMatchObject({
      seq: 1,
      body: '# Hello\n\nFirst **draft**',
      author: { kind: 'USER', user: { id: alice.userId } },
    });

    const EDIT = `mutation($input: EditMessageInput!) { editMessage(input: $input) { body editedAt edits { body editor { id } } } }`;
    const edited = await h.call(EDIT, { input: { messageId: posted.id, body: 'Second draft' } }, alice);
    expect(edited.errors).toBeUndefined();
    expect(edited.data!['editMessage']).toMatchObject({
      body: 'Second draft',
      edits: [{ body: '# Hello\n\nFirst **draft**', editor: { id: alice.userId } }],
    });
    expect(edited.data!['editMessage'].editedAt).not.toBeNull();
    expect(errorCodes(await h.call(EDIT, { input: { messageId: posted.id, body: 'hijack' } }, bob))).toEqual([
      'FORBIDDEN',
    ]);

    const DELETE = `mutation($id: ID!) { deleteMessage(messageId: $id) { seq body deletedAt edits { body } } }`;
    expect(errorCodes(await h.call(DELETE, { id: posted.id }, bob))).toEqual(['FORBIDDEN']);
    const deleted = await h.call(DELETE, { id: posted.id }, alice);
    expect(deleted.data!['deleteMessage']).toMatchObject({ seq: 1, body: null, edits: [] });
    expect(deleted.data!['deleteMessage'].deletedAt).not.toBeNull();
    // Deleting again is a no-op; editing a deleted message is a conflict.
    expect((await h.call(DELETE, { id: posted.id }, alice)).errors).toBeUndefined();
    expect(errorCodes(await h.call(EDIT, { input: { messageId: posted.id, body: 'back' } }, alice))).toEqual([
      'CONFLICT',
    ]);
    const row = await h.chat.deps.prisma.message.findUniqueOrThrow({ where: { id: posted.id } });
    expect(row.body).toBe('');
    expect(await h.chat.deps.prisma.messageEdit.count({ where: { messageId: posted.id } })).toBe(0);

    // The tombstone keeps its place: the next message is seq 2.
    expect((await post(h, bob, id, 'next')).seq).toBe(2);
  });

  it('pages newest first, 50 at most, forward with first/after and backward with last/before', async () => {
    const alice = userPrincipal();
    const id = await createConversation(h, alice);
    await postMany(id, alice, 60);
    const first = await h.call(PAGE, { id }, alice);
    const page1 = first.data!['conversation'].messages;
    expect(page1.edges).toHaveLength(50);
    expect(page1.edges[0].node).toEqual({ seq: 60, body: 'message 60' });
    expect(page1.edges[49].node.seq).toBe(11);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await h.call(PAGE, { id, first: 50, after: page1.pageInfo.endCursor }, alice);
    const page2 = second.data!['conversation'].messages;
    expect(page2.edges.map((edge: any) => edge.node.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(page2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    const newer = await h.call(PAGE, { id, last: 3, before: page2.pageInfo.startCursor }, alice);
    expect(newer.data!['conversation'].messages.edges.map((edge: any) => edge.node.seq)).toEqual([
      13, 12, 11,
    ]);
    expect(newer.data!['conversation'].messages.pageInfo.hasPreviousPage).toBe(true);

    expect(errorCodes(await h.call(PAGE, { id, first: 51 }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(PAGE, { id, first: 0 }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(PAGE, { id, first: 5, last: 5 }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(PAGE, { id, after: 'garbage' }, alice))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses hostile bodies with coded errors and stores nothing', async () => {
    const alice = userPrincipal();
    const id = await createConversation(h, alice);
    await post(h, alice, id, 'only this one');
    const cases: Array<[string, string]> = [
      ['x'.repeat(1024 * 1024), 'PAYLOAD_TOO_LARGE'],
      ['é'.repeat(20_000), 'PAYLOAD_TOO_LARGE'],
      ['', 'BAD_USER_INPUT'],
      ['   \n\t ', 'BAD_USER_INPUT'],
      ['null \u0000 byte', 'BAD_USER_INPUT'],
      ['bell \u0007 and escape \u001b[31m', 'BAD_USER_INPUT'],
      ['lone surrogate \ud800 here', 'BAD_USER_INPUT'],
    ];
    for (const [body, code] of cases) {
      const result = await h.call(POST, { input: { conversationId: id, body } }, alice);
      expect(errorCodes(result), `${body.slice(0, 20)}…`).toEqual([code]);
    }
    const large = await h.call(POST, { input: { conversationId: id, body: 'x'.repeat(1024 * 1024) } }, alice);
    expect(large.errors![0]!.extensions).toMatchObject({
      field: 'body',
      limitBytes: 32_768,
      receivedBytes: 1024 * 1024,
    });
    // Tabs, line breaks, emoji and Markdown are fine.
    expect((await post(h, alice, id, 'tab\there\r\nline 👋 `code`')).seq).toBe(2);
    expect(await h.chat.deps.prisma.message.count({ where: { conversationId: id } })).toBe(2);
    const conversation = await h.chat.deps.prisma.conversation.findUniqueOrThrow({ where: { id } });
    expect(conversation.lastSeq).toBe(2);

    expect(
      errorCodes(await h.call(POST, { input: { conversationId: id, body: 'hi' } }, userPrincipal())),
    ).toEqual(['FORBIDDEN']);
    expect(
      errorCodes(await h.call(POST, { input: { conversationId: id, body: 'hi' } }, userPrincipal('VIEWER'))),
    ).toEqual(['FORBIDDEN']);
  });

  it('lists messages with authors, attachments and edits in a constant number of SQL statements (no N+1)', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const query = /* GraphQL */ `
      query ($id: ID!, $first: Int) {
        conversation(id: $id) {
          participants {
            kind
            user {
              id
            }
          }
          messages(first: $first) {
            edges {
              node {
                id
                body
                author {
                  kind
                  user {
                    id
                  }
                }
                editedAt
                edits {
                  body
                }
                attachments {
                  id
                  fileName
                  size
                }
                conversation {
                  id
                  title
                }
              }
            }
          }
        }
      }
    `;
    const measure = async (count: number): Promise<number> => {
      const id = await createConversation(h, alice, [bob]);
      for (let index = 0; index < count; index += 1) {
        const author = index % 2 === 0 ? alice : bob;
        const message = await post(h, author, id, `message ${index}`);
        if (index % 3 === 0) {
          await h.call(
            `mutation($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
            { input: { messageId: message.id, body: `edited ${index}` } },
            author,
          );
        }
      }
      // Attachments on some messages (rows only: listing never touches the bytes).
      const messages = await h.chat.deps.prisma.message.findMany({
        where: { conversationId: id },
        orderBy: { seq: 'asc' },
      });
      for (const message of messages.filter((_, index) => index % 2 === 0)) {
        await h.chat.deps.prisma.attachment.create({
          data: {
            conversationId: id,
            messageId: message.id,
            uploaderId: message.authorUserId!,
            fileName: 'notes.txt',
            contentType: 'text/plain',
            maxBytes: 10,
            size: 10,
            status: 'READY',
            uploadExpiresAt: new Date(),
          },
        });
      }
      // Nobody read this conversation yet, so the read below misses the cache: the cold (worst) case.
      const before = h.statements();
      const result = await h.call(query, { id, first: 50 }, alice);
      expect(result.errors).toBeUndefined();
      expect(result.data!['conversation'].messages.edges).toHaveLength(count);
      return h.statements() - before;
    };
    // The counter sees the whole client, background relays and polls included: each of those can only add
    // statements, so the smaller of two cold reads is the request's own count.
    const five = Math.min(await measure(5), await measure(5));
    const fifty = Math.min(await measure(50), await measure(50));
    expect(fifty).toBe(five);
    expect(five).toBeLessThanOrEqual(8);
  });
});
