import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServer,
  createHttpServer,
  KEEP_ALIVE_ADVERTISED_SECONDS,
  KEEP_ALIVE_IDLE_MS,
} from '../src/index.js';

/** Connections each round opens at once and then reuses, every one of them at the same moment. */
const CONNECTIONS = 12;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
}

async function serve(server: Server): Promise<{ url: string; connections: () => number }> {
  servers.push(server);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
  };
}

/** Blocks the event loop, as a process starved of CPU (or in a long synchronous stretch) does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/**
 * `CONNECTIONS` requests at once (global fetch opens a connection each), then, after the loop stalls for `stallMs`
 * without running a timer (neither the client's idle timer nor the server's), as many again: undici reuses every
 * idle connection it has not yet seen expire. Resolves with the errors of the second wave.
 */
async function reuseAfterStall(url: string, stallMs: number): Promise<string[]> {
  const post = async () => {
    const response = await fetch(url, { method: 'POST', body: '{}' });
    return response.text();
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, post));
  stall(stallMs);
  const wave = await Promise.allSettled(Array.from({ length: CONNECTIONS }, post));
  return wave.flatMap((result) =>
    result.status === 'rejected'
      ? [String((result.reason as { cause?: { code?: string } }).cause?.code ?? result.reason)]
      : [],
  );
}

describe('createHttpServer keep-alive', () => {
  it('holds idle connections far longer than it advertises', async () => {
    const { url } = await serve(createHttpServer(answer));
    const response = await fetch(url);
    await response.text();
    expect(response.headers.get('keep-alive')).toBe(`timeout=${KEEP_ALIVE_ADVERTISED_SECONDS}`);
    expect(KEEP_ALIVE_IDLE_MS).toBeGreaterThanOrEqual(KEEP_ALIVE_ADVERTISED_SECONDS * 1_000 * 10);
  });

  // Past Node's own idle deadline (the advertised 5 s plus its 1 s buffer) and past the client's (advertised less
  // undici's 2 s): the client still reuses what its stalled timer has not closed.
  it('never resets a connection a client reuses after a stall across the idle deadlines', async () => {
    const { url, connections } = await serve(createHttpServer(answer));
    expect(await reuseAfterStall(url, 6_500)).toEqual([]);
    // The second wave went over reused connections (the case the test is about happened), not fresh ones.
    expect(connections()).toBeLessThan(2 * CONNECTIONS);
  }, 30_000);

  it('(the failure it prevents) a server with Node’s default timeouts resets those connections', async () => {
    const { url } = await serve(createServer(answer));
    const errors = await reuseAfterStall(url, 6_500);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['ECONNRESET']));
  }, 30_000);
});
