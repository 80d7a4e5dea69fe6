// The bench's graphql-ws subscribers, in a worker thread: receiving and parsing millions of events must not
// share the event loop of the servers being measured (in production the clients are elsewhere).
// Plain JavaScript: a worker thread does not inherit tsx's loader.
//
// workerData: { url, connectionParams: object[] (one per subscriber), query, field, variables }: `field` is
// `taskLogs` (one entry per event) or `taskLogBatches` (`{ entries }` per event: its receipt time counts for each).
// Posts { kind: 'progress', delivered, slowest, firstWritten, lastReceipt, errors } every 250 ms, and on
// { kind: 'finish' } from the parent: { kind: 'done', lines: number[], latencies: Float64Array, first: Float64Array (per line, the first
// receipt's latency), errors, firstWritten, lastReceipt, events, busyMs (this thread's busy time from the first line) }.
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, connectionParams, query, field, variables } = workerData;
const count = connectionParams.length;
const lines = new Array(count).fill(0);
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
let firstWritten = Number.POSITIVE_INFINITY;
let lastReceipt = 0;
let errors = 0;
let events = 0;
const clients = [];
/**
 * Per line (by seq), the latency of its first receipt by any subscriber: the write-and-publish part of the latency.
 * NaN until received; a typed array, since a Map's lookups for 2 M entries were a fifth of this thread's time.
 */
let firstReceipt = new Float64Array(1 << 14).fill(Number.NaN);
let lastCreatedAt = '';
/** This thread's event-loop utilisation when the first line arrived: its busy time from then on is the clients' work. */
let busySince;
let lastWritten = 0;

for (let index = 0; index < count; index += 1) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: connectionParams[index],
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  client.subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors += 1;
        const event = result.data?.[field];
        if (!event) return;
        events += 1;
        const now = Date.now();
        for (const entry of field === 'taskLogBatches' ? event.entries : [event]) {
          if (entry.kind !== 'COMMAND_OUTPUT') continue;
          busySince ??= performance.eventLoopUtilization();
          // Lines printed together share a millisecond: parse each distinct timestamp once (2 M entries at
          // 10,000 x 200 made this thread's parsing part of what the servers' cores were measured against).
          if (entry.createdAt !== lastCreatedAt) {
            lastCreatedAt = entry.createdAt;
            lastWritten = Date.parse(entry.createdAt);
          }
          const written = lastWritten;
          if (written < firstWritten) firstWritten = written;
          if (latencyCount === latencies.length) {
            const grown = new Float64Array(latencies.length * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[latencyCount] = now - written;
          if (entry.seq >= firstReceipt.length) {
            const grown = new Float64Array(Math.max(entry.seq + 1, firstReceipt.length * 2)).fill(Number.NaN);
            grown.set(firstReceipt);
            firstReceipt = grown;
          }
          if (Number.isNaN(firstReceipt[entry.seq])) firstReceipt[entry.seq] = now - written;
          latencyCount += 1;
          lastReceipt = now;
          lines[index] += 1;
        }
      },
      error: () => {
        errors += 1;
      },
      complete: () => undefined,
    },
  );
}

const progress = setInterval(() => {
  let delivered = 0;
  let slowest = Number.POSITIVE_INFINITY;
  for (const value of lines) {
    delivered += value;
    if (value < slowest) slowest = value;
  }
  parentPort.postMessage({ kind: 'progress', delivered, slowest, firstWritten, lastReceipt, errors });
}, 250);

parentPort.on('message', async (message) => {
  if (message?.kind !== 'finish') return;
  clearInterval(progress);
  await Promise.allSettled(clients.map((client) => client.dispose()));
  const sample = latencies.slice(0, latencyCount);
  const busyMs = busySince
    ? performance.eventLoopUtilization(performance.eventLoopUtilization(), busySince).active
    : 0;
  const first = firstReceipt.filter((latency) => !Number.isNaN(latency));
  parentPort.postMessage(
    { kind: 'done', lines, latencies: sample, first, errors, firstWritten, lastReceipt, events, busyMs },
    [sample.buffer, first.buffer],
  );
  parentPort.close();
});
