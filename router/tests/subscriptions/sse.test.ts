import { errorCodes } from '@cap/testkit';
import { createClient as createSseClient } from 'graphql-sse';
import { describe, expect, it } from 'vitest';
import {
  router,
  alice,
  bob,
  carol,
  bearer,
  sleep,
  MESSAGE_POSTED,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * Subscriptions over Server-Sent Events (graphql-sse) through the router: same authentication, errors and execution.
 */
useSubscriptionStack();

describe('graphql-sse through the router', () => {
  it('streams a subscription over Server-Sent Events with the same authentication, errors and execution', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const url = `${router.url}/graphql/stream`;
    const client = createSseClient({
      url,
      headers: bearer(bob.token),
      singleConnection: false,
      retryAttempts: 0,
    });
    const events: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const dispose = client.subscribe(
        { query: MESSAGE_POSTED, variables: { conversationId, after: latestCursor } },
        {
          next: (result) => {
            events.push(result);
            if (events.length === 2) {
              dispose();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    await post(alice, conversationId, 'over sse 1');
    await post(alice, conversationId, 'over sse 2');
    await Promise.race([
      done,
      sleep(10_000).then(() => Promise.reject(new Error(`SSE events: ${JSON.stringify(events)}`))),
    ]);
    expect(events.map((event) => event.data.messagePosted.body)).toEqual(['over sse 1', 'over sse 2']);
    expect(events[0].data.messagePosted.author.user.displayName).toBe('Alice');
    client.dispose();

    // Bad credentials: 401 and UNAUTHENTICATED, as on POST /graphql.
    const refused = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: 'Bearer nope',
      },
      body: JSON.stringify({ query: MESSAGE_POSTED, variables: { conversationId } }),
    });
    expect(refused.status).toBe(401);
    expect(errorCodes((await refused.json()) as any)).toEqual(['UNAUTHENTICATED']);
    // A non-participant: the stream carries the subgraph's refusal, then ends.
    const intruder = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(carol.token) },
      body: JSON.stringify({ query: MESSAGE_POSTED, variables: { conversationId } }),
    });
    const text = await intruder.text();
    expect(text).toContain('"code":"FORBIDDEN"');
    expect(text).toContain('event: complete');
    // Invalid operations are refused before streaming.
    const invalid = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(bob.token) },
      body: JSON.stringify({ query: 'subscription { nope }' }),
    });
    expect(invalid.status).toBe(400);
    expect(errorCodes((await invalid.json()) as any)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  }, 30_000);
});
