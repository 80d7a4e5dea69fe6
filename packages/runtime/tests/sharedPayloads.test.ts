import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { SharedPayloads, SPLIT_MIN_CHARS, type OutgoingMessage } from '../src/sharedPayloads.js';
import { sendWithBackPressure } from '../src/webSocketSend.js';
import { seededNumbers } from './seededNumbers.js';

/**
 * Shared payloads over real sockets (ADR 0021): a result is serialised and, when large, encoded once, and every
 * subscriber receives exactly the message graphql-ws would have sent, whether it went out in one frame or two.
 */

const servers: WebSocketServer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A server and `count` clients connected to it; the server side's sockets in the clients' order. */
async function connect(count: number): Promise<{ server: WebSocket[]; received: string[][] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const server: WebSocket[] = [];
  const received: string[][] = [];
  for (let index = 0; index < count; index += 1) {
    const accepted = once(wss, 'connection');
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    clients.push(client);
    const messages: string[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) => {
      // A binary message would mean a frame went out with the wrong opcode.
      messages.push(isBinary ? `binary:${data.length}` : data.toString('utf8'));
    });
    received.push(messages);
    await once(client, 'open');
    server.push((await accepted)[0] as WebSocket);
  }
  return { server, received };
}

/** graphql-ws' `next` message for subscription `id`, with the placeholder `onNext` returned. */
const nextMessage = (id: string, payload: unknown) => JSON.stringify({ id, type: 'next', payload });

/** A result whose JSON has about `chars` characters, from a seeded mix of ASCII, accents, CJK and emoji. */
function resultOfSize(chars: number, random: () => number) {
  const alphabet = ['a', 'z', ' ', '"', '\\', 'é', '中', '😀', '\n', '}'];
  let text = '';
  while (text.length < chars) text += alphabet[Math.floor(random() * alphabet.length)];
  return { data: { taskLogBatches: { lastSeq: Math.floor(random() * 1e6), entries: [{ message: text }] } } };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('SharedPayloads with sendWithBackPressure', () => {
  it('delivers every message intact and in order, one frame or two, over generated sizes and alphabets', async () => {
    const random = seededNumbers(20_261_207);
    const { server, received } = await connect(3);
    const payloads = new SharedPayloads();
    const expected: string[][] = [[], [], []];
    const sizes = [0, 1, SPLIT_MIN_CHARS - 2, SPLIT_MIN_CHARS - 1, SPLIT_MIN_CHARS, SPLIT_MIN_CHARS + 1];
    for (let round = 0; round < 60; round += 1) sizes.push(Math.floor(random() * 4 * SPLIT_MIN_CHARS));
    for (const size of sizes) {
      const result = resultOfSize(size, random);
      server.forEach((socket, index) => {
        const id = `sub-${index}-${size}`;
        void sendWithBackPressure(socket, payloads.expand(nextMessage(id, payloads.placeholder(result))));
        expected[index]!.push(JSON.stringify({ id, type: 'next', payload: result }));
        // A message of the connection's own between two shared ones: never inside a split message.
        const own = JSON.stringify({ type: 'pong', payload: { at: size } });
        void sendWithBackPressure(socket, payloads.expand(own));
        expected[index]!.push(own);
      });
    }
    await until(() => received.every((messages, index) => messages.length === expected[index]!.length));
    expect(received).toEqual(expected);
    expect(payloads.pending).toBe(0);
  });

  it('encodes a large result once for all its subscribers and keeps each subscriber’s own id', () => {
    const payloads = new SharedPayloads();
    const large = resultOfSize(2 * SPLIT_MIN_CHARS, seededNumbers(7));
    const small = resultOfSize(100, seededNumbers(8));
    const first = payloads.expand(nextMessage('a', payloads.placeholder(large))) as Exclude<
      OutgoingMessage,
      string
    >;
    const second = payloads.expand(nextMessage('b', payloads.placeholder(large))) as Exclude<
      OutgoingMessage,
      string
    >;
    expect(typeof first).toBe('object');
    expect(second.body).toBe(first.body);
    expect(first.head).toBe('{"id":"a","type":"next","payload":');
    expect(second.head).toBe('{"id":"b","type":"next","payload":');
    expect(JSON.parse(first.head + first.body.toString('utf8'))).toEqual({
      id: 'a',
      type: 'next',
      payload: large,
    });
    expect(payloads.expand(nextMessage('c', payloads.placeholder(small)))).toBe(
      JSON.stringify({ id: 'c', type: 'next', payload: small }),
    );
  });

  it('a client that does not read holds up only its own socket, and gets everything once it reads', async () => {
    const { server, received } = await connect(2);
    const payloads = new SharedPayloads();
    const result = resultOfSize(4 * SPLIT_MIN_CHARS, seededNumbers(9));
    // The first client stops reading: its socket fills, the other keeps receiving.
    clients[0]!.pause();
    const pending: Promise<void>[] = [];
    let blocked = 0;
    for (let index = 0; index < 400; index += 1) {
      for (const [at, socket] of server.entries()) {
        const sent = sendWithBackPressure(
          socket,
          payloads.expand(nextMessage(`s${index}`, payloads.placeholder(result))),
        );
        if (at === 0) {
          let settled = false;
          void sent.then(() => (settled = true));
          await Promise.resolve();
          if (!settled) blocked += 1;
          pending.push(sent);
        }
      }
    }
    await until(() => received[1]!.length === 400);
    expect(blocked).toBeGreaterThan(0);
    expect(received[0]!.length).toBeLessThan(400);
    clients[0]!.resume();
    await Promise.all(pending);
    await until(() => received[0]!.length === 400);
    for (const messages of received) {
      const parsed = messages.map((message) => JSON.parse(message) as { id: string; payload: unknown });
      expect(parsed.map((message) => message.id)).toEqual(
        Array.from({ length: 400 }, (_, index) => `s${index}`),
      );
      for (const message of parsed) expect(message.payload).toEqual(result);
    }
  });
});
