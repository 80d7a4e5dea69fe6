import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';

let h: ChatHarness;
const alice = userPrincipal();
const bob = userPrincipal();
let shared: string;
let private_: string;
beforeAll(async () => {
  h = await startChatHarness();
  shared = await createConversation(h, alice, [bob]);
  private_ = await createConversation(h, bob);
  await post(h, alice, shared, 'The flaky date test fails around midnight UTC.');
  await post(h, bob, shared, 'Dates are hard. The test for pagination is fine.');
  await post(
    h,
    alice,
    shared,
    'Deploying the <script>alert("x")</script> fix for the flaky test & the dates today',
  );
  await post(h, bob, shared, 'Lunch?');
  await post(h, bob, private_, 'Secret: the flaky test is my fault');
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const SEARCH = /* GraphQL */ `
  query ($query: String!, $conversationId: ID, $first: Int, $after: String) {
    searchMessages(query: $query, conversationId: $conversationId, first: $first, after: $after) {
      edges {
        cursor
        node {
          rank
          snippet
          message {
            id
            body
            conversation {
              id
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

async function search(query: string, as = alice, extra: Record<string, unknown> = {}): Promise<any[]> {
  const result = await h.call(SEARCH, { query, ...extra }, as);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!['searchMessages'].edges.map((edge: any) => edge.node);
}

describe('full-text search', () => {
  it('finds stemmed words in my conversations only, best match first, with escaped highlighted snippets', async () => {
    const hits = await search('flaky dates');
    expect(hits.map((hit) => hit.message.body).sort()).toEqual([
      'Deploying the <script>alert("x")</script> fix for the flaky test & the dates today',
      'The flaky date test fails around midnight UTC.',
    ]);
    expect(hits[0].rank).toBeGreaterThan(0);
    expect(hits[0].rank).toBeGreaterThanOrEqual(hits[1].rank);
    // More of the query's words rank higher.
    expect((await search('flaky date midnight'))[0].message.body).toBe(
      'The flaky date test fails around midnight UTC.',
    );
    const midnight = (await search('flaky date midnight'))[0];
    expect(midnight.snippet).toContain('<mark>flaky</mark>');
    expect(midnight.snippet).toContain('<mark>date</mark>');
    expect(midnight.snippet).toContain('<mark>midnight</mark>');
    const deploying = hits.find((hit) => hit.message.body.startsWith('Deploying'));
    // User content in snippets is HTML-escaped; only our <mark> tags are markup.
    expect(deploying.snippet.replace(/<\/?mark>/g, '')).toMatch(/^[^<>"']*$/);
    expect(deploying.snippet).toContain('script&gt;');
    expect(deploying.snippet).toContain('&amp;');
    // Bob's private conversation is his alone.
    expect((await search('secret fault', bob)).map((hit) => hit.message.conversation.id)).toEqual([private_]);
    expect(await search('secret fault', alice)).toEqual([]);
  });

  it('supports web-search syntax and pages through results', async () => {
    expect((await search('"flaky date"')).map((hit) => hit.message.body)).toEqual([
      'The flaky date test fails around midnight UTC.',
    ]);
    expect((await search('test -flaky')).map((hit) => hit.message.body)).toEqual([
      'Dates are hard. The test for pagination is fine.',
    ]);
    const first = await h.call(SEARCH, { query: 'test', first: 2 }, alice);
    const page = first.data!['searchMessages'];
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const rest = await h.call(SEARCH, { query: 'test', first: 2, after: page.pageInfo.endCursor }, alice);
    expect(rest.data!['searchMessages'].edges).toHaveLength(1);
    expect(rest.data!['searchMessages'].pageInfo.hasNextPage).toBe(false);
    const ids = [...page.edges, ...rest.data!['searchMessages'].edges].map(
      (edge: any) => edge.node.message.id,
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('treats tsquery operators as plain text and refuses control characters and overlong queries', async () => {
    for (const hostile of [
      '!!&|(:*\'"\\',
      "flaky & | ! ( ) :* 'x'",
      'test:*',
      "a' | b",
      '))))((((',
    ] as const) {
      const result = await h.call(SEARCH, { query: hostile }, alice);
      expect(result.errors, hostile).toBeUndefined();
    }
    expect(await search('!!&|(:*\'"\\')).toEqual([]);
    expect((await search('flaky:* & test')).length).toBeGreaterThan(0);
    expect(errorCodes(await h.call(SEARCH, { query: 'null\u0000byte' }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(SEARCH, { query: 'bell\u0007' }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(SEARCH, { query: 'x'.repeat(257) }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(SEARCH, { query: '   ' }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(SEARCH, { query: 'test', first: 51 }, alice))).toEqual(['BAD_USER_INPUT']);
  });

  it('scopes to one conversation when asked, only if I take part in it, and skips deleted messages', async () => {
    expect((await search('test', alice, { conversationId: shared })).length).toBe(3);
    expect(errorCodes(await h.call(SEARCH, { query: 'test', conversationId: private_ }, alice))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await h.call(SEARCH, { query: 'test' }, userPrincipal('VIEWER')))).toEqual([]);
    expect(errorCodes(await h.call(SEARCH, { query: 'test' }))).toEqual(['UNAUTHENTICATED']);
    const doomed = await post(h, alice, shared, 'Ephemeral zebra crossing');
    expect((await search('zebra')).length).toBe(1);
    await h.call(`mutation($id: ID!) { deleteMessage(messageId: $id) { id } }`, { id: doomed.id }, alice);
    expect(await search('zebra')).toEqual([]);
  });
});
