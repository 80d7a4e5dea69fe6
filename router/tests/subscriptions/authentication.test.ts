import { randomUUID } from 'node:crypto';
import { base64url, decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SubscriptionCloseCode } from '../../src/subscriptions/transport/closeCodes.js';
import {
  alice,
  bob,
  accessToken,
  bearer,
  wsClient,
  subscribe,
  sleep,
  rawSocket,
  closeCodeFor,
  MESSAGE_POSTED,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * graphql-ws authentication through the router: close codes for bad, forged, expired or malformed credentials and
 * protocol misuse, expiry mid-subscription, and credentials renewed by ping.
 */
useSubscriptionStack();

describe('graphql-ws authentication through the router', () => {
  it('closes with 4401 on bad, forged, expired or `alg: none` credentials, 4400 on malformed input, 4408 without init, 4429 on a second init', async () => {
    expect(await closeCodeFor({ authorization: 'Bearer not-a-token' })).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...decodeJwt(alice.token) })
      .setProtectedHeader({ alg: 'ES256', kid: 'forged' })
      .sign(privateKey);
    expect(await closeCodeFor(bearer(forged))).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor(bearer(await accessToken(alice.id, -120)))).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    expect(await closeCodeFor(bearer(await accessToken(alice.id, 900, { audience: 'someone-else' })))).toBe(
      SubscriptionCloseCode.UNAUTHORIZED,
    );
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(decodeJwt(alice.token)))}.`;
    expect(await closeCodeFor(bearer(none))).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor({ 'x-api-key': 'cap_nope_nope' })).toBe(SubscriptionCloseCode.UNAUTHORIZED);
    expect(await closeCodeFor({ authorization: 42 })).toBe(SubscriptionCloseCode.BAD_REQUEST);

    const garbage = await rawSocket();
    garbage.send('{ not json');
    expect((await garbage.closed).code).toBe(SubscriptionCloseCode.BAD_REQUEST);
    const noId = await rawSocket();
    noId.send({ type: 'connection_init', payload: bearer(alice.token) });
    await noId.next('connection_ack');
    noId.send({ type: 'subscribe', payload: { query: 'subscription { __typename }' } });
    expect((await noId.closed).code).toBe(SubscriptionCloseCode.BAD_REQUEST);
    const silent = await rawSocket();
    expect((await silent.closed).code).toBe(SubscriptionCloseCode.CONNECTION_INIT_TIMEOUT);
    const twice = await rawSocket();
    twice.send({ type: 'connection_init', payload: bearer(alice.token) });
    await twice.next('connection_ack');
    twice.send({ type: 'connection_init', payload: bearer(alice.token) });
    expect((await twice.closed).code).toBe(SubscriptionCloseCode.TOO_MANY_REQUESTS);
    // Anonymous connections are accepted; chat refuses them itself.
    const anonymous = subscribe(
      wsClient({}),
      MESSAGE_POSTED,
      { conversationId: randomUUID() },
      'messagePosted',
    );
    expect(await anonymous.failure()).toEqual(['UNAUTHENTICATED']);
  }, 30_000);

  it('ends the socket with 4401 when the access token expires mid-subscription', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, []);
    const shortLived = await accessToken(alice.id, 3);
    const client = wsClient(bearer(shortLived));
    const stream = subscribe(
      client,
      MESSAGE_POSTED,
      { conversationId, after: latestCursor },
      'messagePosted',
    );
    await post(alice, conversationId, 'while valid');
    await stream.waitFor(1);
    await stream.done;
    expect(client.closes).toEqual([SubscriptionCloseCode.UNAUTHORIZED]);
    expect(Date.now()).toBeGreaterThanOrEqual((decodeJwt(shortLived).exp! - 1) * 1000);
  }, 15_000);

  it('keeps a connection alive past expiry when a ping renews the credentials, and closes 4403 on another caller', async () => {
    const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
    const socket = await rawSocket();
    socket.send({ type: 'connection_init', payload: bearer(await accessToken(alice.id, 3)) });
    const ack = await socket.next('connection_ack');
    expect(Date.parse(ack['payload'].expiresAt)).toBeLessThan(Date.now() + 4_000);
    socket.send({
      type: 'subscribe',
      id: 's1',
      payload: { query: MESSAGE_POSTED, variables: { conversationId, after: latestCursor } },
    });
    socket.send({ type: 'ping', payload: bearer(alice.token) });
    const pong = await socket.next('pong');
    expect(Date.parse(pong['payload'].expiresAt)).toBeGreaterThan(Date.now() + 60_000);
    await sleep(4_000);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    await post(bob, conversationId, 'after the first token expired');
    const next = await socket.next('next');
    expect(next['payload'].data.messagePosted).toMatchObject({
      body: 'after the first token expired',
      author: { user: { displayName: 'Bob' } },
    });
    socket.send({ type: 'ping', payload: bearer(bob.token) });
    expect((await socket.closed).code).toBe(SubscriptionCloseCode.FORBIDDEN);
  }, 15_000);
});
