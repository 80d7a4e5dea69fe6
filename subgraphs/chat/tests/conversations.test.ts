import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, userPrincipal } from '@cap/testkit';
import {
  CREATE_CONVERSATION,
  createConversation,
  post,
  startChatHarness,
  type ChatHarness,
} from './harness.js';

let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const CONVERSATION = /* GraphQL */ `
  query ($id: ID!) {
    conversation(id: $id) {
      id
      title
      creator {
        id
      }
      participants {
        kind
        agentId
        user {
          id
        }
      }
      latestCursor
    }
  }
`;

describe('conversations', () => {
  it('creates a conversation with users and the agent, and shows it only to its participants', async () => {
    const alice = userPrincipal();
    const bob = userPrincipal();
    const mallory = userPrincipal();
    const created = await h.call(
      CREATE_CONVERSATION,
      {
        input: {
          title: '  Flaky date test  ',
          participantUserIds: [bob.userId, alice.userId],
          agentIds: ['coding-agent'],
        },
      },
      alice,
    );
    expect(created.errors).toBeUndefined();
    const conversation = created.data!['createConversation'];
    expect(conversation).toMatchObject({ title: 'Flaky date test', creator: { id: alice.userId } });
    expect(conversation.participants).toEqual([
      { kind: 'USER', agentId: null, user: { id: alice.userId } },
      { kind: 'USER', agentId: null, user: { id: bob.userId } },
      { kind: 'AGENT', agentId: 'coding-agent', user: null },
    ]);

    const asBob = await h.call(CONVERSATION, { id: conversation.id }, bob);
    expect(asBob.data!['conversation'].id).toBe(conversation.id);
    expect(errorCodes(await h.call(CONVERSATION, { id: conversation.id }, mallory))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await h.call(CONVERSATION, { id: randomUUID() }, mallory))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await h.call(CONVERSATION, { id: conversation.id }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await h.call(CONVERSATION, { id: 'not-an-id' }, alice))).toEqual(['BAD_USER_INPUT']);

    // Entity references (how other subgraphs reach conversations) resolve for participants only.
    const entities = /* GraphQL */ `
      query ($r: [_Any!]!) {
        _entities(representations: $r) {
          ... on Conversation {
            id
            title
          }
        }
      }
    `;
    const representations = [{ __typename: 'Conversation', id: conversation.id }];
    expect((await h.call(entities, { r: representations }, bob)).data!['_entities']).toEqual([
      { id: conversation.id, title: 'Flaky date test' },
    ]);
    expect((await h.call(entities, { r: representations }, mallory)).data!['_entities']).toEqual([null]);
  });

  it('adds participants, who then see the whole history', async () => {
    const alice = userPrincipal();
    const carol = userPrincipal();
    const id = await createConversation(h, alice);
    await post(h, alice, id, 'before carol joined');
    expect(errorCodes(await h.call(CONVERSATION, { id }, carol))).toEqual(['FORBIDDEN']);
    const added = await h.call(
      `mutation($input: AddParticipantsInput!) { addParticipants(input: $input) { participants { kind user { id } agentId } } }`,
      { input: { conversationId: id, userIds: [carol.userId, alice.userId], agentIds: ['coding-agent'] } },
      alice,
    );
    expect(added.errors).toBeUndefined();
    expect(added.data!['addParticipants'].participants).toHaveLength(3);
    const history = await h.call(
      `query($id: ID!) { conversation(id: $id) { messages { edges { node { body } } } } }`,
      { id },
      carol,
    );
    expect(history.data!['conversation'].messages.edges).toEqual([{ node: { body: 'before carol joined' } }]);
    // Only participants may add anyone.
    const outsider = await h.call(
      `mutation($input: AddParticipantsInput!) { addParticipants(input: $input) { id } }`,
      { input: { conversationId: id, userIds: [randomUUID()] } },
      userPrincipal(),
    );
    expect(errorCodes(outsider)).toEqual(['FORBIDDEN']);
  });

  it('lists my conversations, most recently active first, in pages', async () => {
    const dana = userPrincipal();
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) ids.push(await createConversation(h, dana));
    await post(h, dana, ids[1]!, 'bump');
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const result: any = await h.call(
        `query($after: String) { conversations(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
        dana,
      );
      expect(result.errors).toBeUndefined();
      seen.push(...result.data.conversations.edges.map((edge: any) => edge.node.id));
      if (!result.data.conversations.pageInfo.hasNextPage) break;
      after = result.data.conversations.pageInfo.endCursor;
    }
    expect(seen).toEqual([ids[1], ids[4], ids[3], ids[2], ids[0]]);
  });

  it('refuses bad input and missing scopes with coded errors, creating nothing', async () => {
    const alice = userPrincipal();
    const before = await h.chat.deps.prisma.conversation.count();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ title: '' }, 'BAD_USER_INPUT'],
      [{ title: 'x'.repeat(201) }, 'BAD_USER_INPUT'],
      [{ title: 'evil\u0000title' }, 'BAD_USER_INPUT'],
      [{ title: 'ok', participantUserIds: ['not-a-uuid'] }, 'BAD_USER_INPUT'],
      [{ title: 'ok', agentIds: ['Coding Agent!'] }, 'BAD_USER_INPUT'],
    ];
    for (const [input, code] of cases) {
      expect(
        errorCodes(await h.call(CREATE_CONVERSATION, { input: { title: 'ok', ...input } }, alice)),
        JSON.stringify(input).slice(0, 60),
      ).toEqual([code]);
    }
    expect(
      errorCodes(await h.call(CREATE_CONVERSATION, { input: { title: 'ok' } }, userPrincipal('VIEWER'))),
    ).toEqual(['FORBIDDEN']);
    expect(errorCodes(await h.call(CREATE_CONVERSATION, { input: { title: 'ok' } }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(await h.chat.deps.prisma.conversation.count()).toBe(before);
  });
});
