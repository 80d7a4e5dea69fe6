import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { OutgoingMessage } from './sharedPayloads.js';

/**
 * Bytes a WebSocket may hold unsent (in ws and the socket's stream, beyond the kernel's buffer) before a sender
 * waits for its write to flush: 64 KiB, a few hundred events.
 */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;

/**
 * Sends `data` on `ws` as one text message (a split message in two frames, its shared body not copied) with
 * bounded buffering. While the socket holds less than `highWaterBytes` unsent, the
 * returned promise resolves at once, so a subscription can hand over many events in one turn of the event loop;
 * beyond it, it resolves once this write has been flushed, so a slow reader holds up only its own stream.
 *
 * Awaiting every write's callback instead (graphql-ws' own adapter) delivers at most one event per subscription
 * per turn of the event loop: a burst of 2,000 log lines then takes 2,000 turns, seconds on a busy process.
 */
export function sendWithBackPressure(
  ws: WebSocket,
  data: OutgoingMessage,
  highWaterBytes: number = SEND_HIGH_WATER_BYTES,
): Promise<void> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  if (webSocketSendOptions.corkPerTick) corkUntilNextTick(ws);
  // Both frames are handed to ws in this turn, so no other message can come between them on this socket.
  if (typeof data !== 'string') ws.send(data.head, FIRST_FRAME, IGNORE_ERROR);
  const last = typeof data === 'string' ? data : data.body;
  if (ws.bufferedAmount < highWaterBytes) {
    ws.send(last, LAST_FRAME, IGNORE_ERROR);
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) =>
    ws.send(last, LAST_FRAME, (error) => (error ? reject(error) : resolve())),
  );
}

/** Text frames (a Buffer is text too); the first of a split message leaves the message open. */
const FIRST_FRAME = { binary: false, fin: false } as const;
const LAST_FRAME = { binary: false, fin: true } as const;

/**
 * Process-wide switches of {@link sendWithBackPressure}, read on every send. `corkPerTick` (default true): frames
 * sent to one socket in the same turn of the event loop leave in one `writev` instead of one system call each
 * (a burst of log lines to 20 subscribers was 40,000 writes; ADR 0028). Benchmarks turn it off for their baseline.
 */
export const webSocketSendOptions: { corkPerTick: boolean } = { corkPerTick: true };

/** Sockets corked during this tick; uncorked together on the next one. */
const corked = new Set<Socket>();
let uncorkScheduled = false;

function corkUntilNextTick(ws: WebSocket): void {
  // ws keeps its net.Socket private; without one (another implementation) frames simply go out one by one.
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (!socket || corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (uncorkScheduled) return;
  uncorkScheduled = true;
  process.nextTick(uncorkAll);
}

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/** A failed write closes the socket (ws emits `error` and `close`): the connection's own handlers act on it. */
const IGNORE_ERROR = (): void => undefined;
