import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal, type GraphQLResult } from '@cap/testkit';
import { POST, startChatHarness, type ChatHarness } from './harness.js';

/**
 * A database too busy to start a transaction in time (Prisma's P2028: no connection within `maxWait`) is a coded,
 * retryable DATABASE_BUSY, never INTERNAL_SERVER_ERROR, and a refused post takes nothing: the messages that did
 * commit still have gap-free seqs. A 1 ms `maxWait` makes a burst of posts to one conversation (serialised on its
 * row, 10 pooled connections) refuse some of them on any machine.
 */
let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness({ transactionOptions: { maxWait: 1, timeout: 10_000 } });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

type Result = GraphQLResult<Record<string, any>>;
const codeOf = (result: Result): unknown => result.errors?.[0]?.extensions?.['code'];

/** Runs `call` until it is not refused as busy (what a client is told to do). */
async function untilCommitted(call: () => Promise<Result>): Promise<Result> {
  for (let attempt = 0; ; attempt += 1) {
    const result = await call();
    if (codeOf(result) !== 'DATABASE_BUSY' || attempt === 50) return result;
  }
}

const CREATE = /* GraphQL */ `
  mutation ($input: CreateConversationInput!) {
    createConversation(input: $input) {
      id
    }
  }
`;

const SEQS = /* GraphQL */ `
  query ($id: ID!) {
    conversation(id: $id) {
      messages(first: 50) {
        edges {
          node {
            seq
          }
        }
      }
    }
  }
`;

describe('a busy database', () => {
  it('refuses posts it cannot start in time with DATABASE_BUSY, and the committed ones stay gap-free', async () => {
    const alice = userPrincipal();
    const created = await untilCommitted(() =>
      h.call(CREATE, { input: { title: 'Busy', participantUserIds: [] } }, alice),
    );
    expect(created.errors, JSON.stringify(created.errors)).toBeUndefined();
    const conversationId = created.data!['createConversation'].id as string;

    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        h.call(POST, { input: { conversationId, body: `burst ${index}` } }, alice),
      ),
    );
    const busy = results.filter((result) => codeOf(result) === 'DATABASE_BUSY');
    const posted = results.filter((result) => result.errors === undefined);
    expect(busy.length + posted.length).toBe(results.length);
    expect(busy.length).toBeGreaterThan(0);
    for (const result of busy) {
      expect(result.errors![0]!.message).toMatch(/too busy.*did not commit/);
      expect(JSON.stringify(result.errors)).not.toMatch(/P2028|prisma|stack/i);
    }

    const listed = await untilCommitted(() => h.call(SEQS, { id: conversationId }, alice));
    const seqs = (listed.data!['conversation'].messages.edges as Array<{ node: { seq: number } }>)
      .map((edge) => edge.node.seq)
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: posted.length }, (_, index) => index + 1));
  });
});
