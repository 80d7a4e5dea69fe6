// The bench's graphql-ws subscribers, in a child process: their sockets, parsing and bookkeeping live in another
// process than the servers being measured (in production the clients are elsewhere), so the servers' heap and RSS
// growth per connection are their own, and 10,000 connections fit each process's file descriptor limit.
// Plain JavaScript, run by node itself (no tsx loader needed).
//
// BENCH_SUBSCRIBERS_WORKER (environment, JSON): { url, connectionParams: object (the same for every subscriber),
// count, query, variables, field }. Talks to its parent over IPC (advanced serialisation):
// 1. connects `count` clients (50 every 100 ms) and posts { kind: 'connected', count, failed, firstError } once
//    each is acknowledged or refused (idle);
// 2. on { kind: 'subscribe' }, subscribes each (in the same steps), and posts { kind: 'progress', warm, lowest, errors, firstError }
//    every 100 ms (warm = subscribers that received a `warm…` body; lowest = fewest measured messages received);
// 3. on { kind: 'finish' }: { kind: 'done', receipts: Float64Array of (message index, Date.now() at receipt) pairs,
//    errors }.
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, connectionParams, count, query, variables, field } = JSON.parse(
  process.env.BENCH_SUBSCRIBERS_WORKER ?? '{}',
);
// Ends with the parent (a failed run must not leave thousands of sockets behind).
process.on('disconnect', () => process.exit(0));
const parentPort = {
  postMessage: (message) => process.send(message),
  on: (event, listener) => process.on(event, listener),
  // The parent ends this process once it has the results.
  close: () => undefined,
};
const clients = [];
const received = new Array(count).fill(0);
const warm = new Array(count).fill(false);
let receipts = new Float64Array(1 << 16);
let receiptCount = 0;
let errors = 0;
let firstError;
let connected = 0;

/** Clients connect and subscribe in steps of this many (every STEP_MS), as real clients arrive spread out. */
const STEP = 50;
const STEP_MS = 100;
const inSteps = async (each) => {
  for (let index = 0; index < count; index += 1) {
    each(index);
    if ((index + 1) % STEP === 0) await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  }
};
let failedToConnect = 0;
const reportConnected = () => {
  if (connected + failedToConnect === count)
    parentPort.postMessage({ kind: 'connected', count: connected, failed: failedToConnect, firstError });
};

void inSteps((index) => {
  clients[index] = createClient({
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
        reportConnected();
      },
    },
    onNonLazyError: (error) => {
      errors += 1;
      failedToConnect += 1;
      firstError ??= String(error?.code ?? error?.message ?? error);
      reportConnected();
    },
  });
});

function subscribeAll() {
  void inSteps((index) =>
    clients[index].subscribe(
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
  parentPort.postMessage({ kind: 'done', receipts: sample, errors });
  parentPort.close();
});
