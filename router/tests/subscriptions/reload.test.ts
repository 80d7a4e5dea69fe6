import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { loadConfig as loadChatConfig, startChat } from '@cap/chat';
import { errorCodes, graphql } from '@cap/testkit';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubscriptionCloseCode } from '../../src/subscriptions/transport/closeCodes.js';
import {
  db,
  kv,
  bus,
  logger,
  dataDir,
  chatEnv,
  alice,
  bob,
  disposers,
  startRouterWith,
  bearer,
  wsClient,
  subscribe,
  rawSocket,
  MESSAGE_POSTED,
  SETTINGS,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * Limits and availability of subscriptions: a supergraph reload, connections per address, a subgraph that stays down.
 */
useSubscriptionStack();

describe('a router whose supergraph reloads and whose chat goes away', () => {
  it('keeps subscriptions running across a supergraph reload, caps connections per address, and ends with SUBGRAPH_UNAVAILABLE when chat stays down', async () => {
    // A supergraph where identity lacks `Query.scopes`: the router's poll brings it in (development hot reload).
    const sdl = (name: string) =>
      readFileSync(new URL(`../../../subgraphs/${name}/schema.graphql`, import.meta.url), 'utf8');
    const olderIdentity = sdl('identity').replace(
      /\n\s*"""[^"]*"""\n\s*scopes: \[ScopeInfo!\]![^\n]*\n/,
      '\n',
    );
    expect(olderIdentity).not.toBe(sdl('identity'));
    const composed = composeServices(
      [
        { name: 'identity', typeDefs: parse(olderIdentity) },
        { name: 'chat', typeDefs: parse(sdl('chat')) },
        { name: 'orchestration', typeDefs: parse(sdl('orchestration')) },
      ].map((service) => ({ ...service, url: 'http://127.0.0.1:1/graphql' })),
    );
    if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
    const path = join(dataDir, 'older-supergraph.graphql');
    writeFileSync(path, composed.supergraphSdl);
    const doomedChat = await startChat({
      config: loadChatConfig(chatEnv),
      database: db.database,
      kv,
      bus,
      logger,
    });
    disposers.push(() => doomedChat.close());
    const reloading = await startRouterWith(
      {
        SUPERGRAPH_PATH: path,
        SUPERGRAPH_POLL_INTERVAL_MS: '1500',
        SUBGRAPH_CHAT_URL: doomedChat.subgraph.graphqlUrl,
      },
      { ...SETTINGS, upstreamUnavailableAfterMs: 1_500, maxConnectionsPerAddress: 3 },
    );
    const url = reloading.graphqlUrl.replace(/^http/, 'ws');
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const stream = subscribe(
      wsClient(bearer(bob.token), url),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'before the reload');
    await stream.waitFor(1);

    await expect
      .poll(
        async () =>
          errorCodes(
            await graphql(
              reloading.graphqlUrl,
              `
                {
                  scopes {
                    name
                  }
                }
              `,
            ),
          ).join(),
        { timeout: 10_000, interval: 200 },
      )
      .toBe('');
    await post(alice, conversationId, 'after the reload');
    await stream.waitFor(2);
    const fresh = subscribe(
      wsClient(bearer(alice.token), url),
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await fresh.waitFor(2);

    // Two connections are open from this address; the third is allowed, the fourth refused.
    const third = await rawSocket(url);
    const fourth = await rawSocket(url);
    expect((await fourth.closed).code).toBe(SubscriptionCloseCode.TOO_MANY_REQUESTS);
    third.ws.close();

    await doomedChat.close();
    expect(await stream.failure(10_000)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(JSON.stringify(stream.failedWith)).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|stack/i);
    expect(stream.events.map((event) => event.body)).toEqual(['before the reload', 'after the reload']);
  }, 60_000);
});
