// The bench's graphql-ws subscribers, in a worker thread: their sockets, parsing and bookkeeping live on another
// heap and event loop than the servers being measured (in production the clients are elsewhere), so the main
// thread's heap growth per connection is the servers' own.
// Plain JavaScript: a worker thread does not inherit tsx's loader.
//
// workerData: { url, connectionParams: object (the same for every subscriber), count, query, variables, field }
// 1. connects `count` clients at once and posts { kind: 'connected', count } once all are acknowledged (idle);
// 2. on { kind: 'subscribe' }, subscribes each, and posts { kind: 'progress', warm, lowest, errors, firstError }
//    every 100 ms (warm = subscribers that received a `warm…` body; lowest = fewest measured messages received);
// 3. on { kind: 'finish' }: { kind: 'done', receipts: Float64Array of (message index, Date.now() at receipt) pairs,
//    errors }.
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, connectionParams, count, query, variables, field } = workerData;
const clients = [];
const received = new Array(count).fill(0);
const warm = new Array(count).fill(false);
let receipts = new Float64Array(1 << 16);
let receiptCount = 0;
let errors = 0;
let firstError;
let connected = 0;

for (let index = 0; index < count; index += 1) {
  clients.push(
    createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      // Idle connections stay open until the subscriptions start.
      lazyCloseTimeout: 0,
      on: {
        connected: () => {
          connected += 1;
          if (connected === count) parentPort.postMessage({ kind: 'connected', count });
        },
      },
      onNonLazyError: (error) => {
        errors += 1;
        firstError ??= String(error?.code ?? error?.message ?? error);
      },
    }),
  );
}

function subscribeAll() {
  clients.forEach((client, index) =>
    client.subscribe(
      { query, variables },
      {
        next: (result) => {
          if (result.errors) {
            errors += 1;
            firstError ??= JSON.stringify(result.errors);
          }
          const body = result.data?.[field]?.body ?? '';
          if (body.startsWith('warm')) {
            warm[index] = true;
            return;
          }
          if (!body.startsWith('m')) return;
          if (receiptCount * 2 + 2 > receipts.length) {
            const grown = new Float64Array(receipts.length * 2);
            grown.set(receipts);
            receipts = grown;
          }
          receipts[receiptCount * 2] = Number(body.slice(1));
          receipts[receiptCount * 2 + 1] = Date.now();
          receiptCount += 1;
          received[index] += 1;
        },
        error: (error) => {
          errors += 1;
          firstError ??= JSON.stringify(error?.message ?? error);
        },
        complete: () => undefined,
      },
    ),
  );
}

let progress;
parentPort.on('message', async (message) => {
  if (message?.kind === 'subscribe') {
    subscribeAll();
    progress = setInterval(() => {
      let lowest = Number.POSITIVE_INFINITY;
      let warmCount = 0;
      for (let index = 0; index < count; index += 1) {
        if (received[index] < lowest) lowest = received[index];
        if (warm[index]) warmCount += 1;
      }
      parentPort.postMessage({ kind: 'progress', warm: warmCount, lowest, errors, firstError });
    }, 100);
    return;
  }
  if (message?.kind !== 'finish') return;
  clearInterval(progress);
  await Promise.allSettled(clients.map((client) => client.dispose()));
  const sample = receipts.slice(0, receiptCount * 2);
  parentPort.postMessage({ kind: 'done', receipts: sample, errors }, [sample.buffer]);
  parentPort.close();
});
