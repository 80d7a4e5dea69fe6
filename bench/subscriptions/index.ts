/**
 * Chat fan-out through the router's federated subscriptions. N graphql-ws subscribers watch one conversation's
 * `messagePosted`; M messages are posted (straight to chat, so both rows measure delivery only). Two rows, side by
 * side in one run: the N subscribers directly on the chat subgraph (the baseline), then through the router.
 * Prints messages/s delivered, p50/p99 post-to-receipt latency, and memory per connection (heap and RSS growth
 * with the N connections open, divided by N). Each row runs in a fresh child process on loopback holding the
 * clients, the router and the subgraphs, so the router's own share of memory is the router row minus the
 * direct row.
 *
 *   npx tsx --conditions=source bench/subscriptions/index.ts
 *   BENCH_SUBSCRIBERS=200 BENCH_MESSAGES=50 npx tsx --expose-gc --conditions=source bench/subscriptions/index.ts
 *
 * Knobs: BENCH_SUBSCRIBERS (1000), BENCH_MESSAGES (100), BENCH_POST_INTERVAL_MS (20), BENCH_ENTITY=1 (also
 * select `author.user.displayName`, resolved by identity for every event), BENCH_TIMEOUT_MS (180000).
 * Needs PostgreSQL (TEST_DATABASE_URL) and Redis (REDIS_URL); see stack.ts.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { asRouter, graphql } from '@cap/testkit';
import type { Client } from 'graphql-ws';
import { percentile, printTable, startBenchStack, until, type BenchStack, type BenchUser } from './stack.js';

const SUBSCRIBERS = Number(process.env['BENCH_SUBSCRIBERS'] ?? 1_000);
const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 100);
const POST_INTERVAL_MS = Number(process.env['BENCH_POST_INTERVAL_MS'] ?? 20);
const WITH_ENTITY = process.env['BENCH_ENTITY'] === '1';
const TIMEOUT_MS = Number(process.env['BENCH_TIMEOUT_MS'] ?? 180_000);
/** Set in the child process that measures one path. */
const PATH_VARIABLE = 'BENCH_SUBSCRIPTIONS_PATH';
const RESULT_PREFIX = 'BENCH_RESULT ';

const subscription = (entity: boolean) =>
  `subscription($c: ID!) { messagePosted(conversationId: $c) { id seq body createdAt author { kind user { id ${entity ? 'displayName' : ''} } } } }`;
const POST = `mutation($input: PostMessageInput!) { postMessage(input: $input) { seq } }`;

interface Row {
  [column: string]: string | number;
  path: string;
  subscribers: number;
  messages: number;
  'delivered/s': number;
  'p50 ms': number;
  'p99 ms': number;
  'heap KiB/conn': number;
  'rss KiB/conn': number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { heap: number; rss: number } {
  gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

async function measure(
  path: 'direct to chat' | 'through the router',
  stack: BenchStack,
  poster: BenchUser,
  reader: BenchUser,
  conversationId: string,
): Promise<Row> {
  const before = memory();
  const clients: Client[] = [];
  const received = new Array<number>(SUBSCRIBERS).fill(0);
  const warm = new Array<boolean>(SUBSCRIBERS).fill(false);
  const postedAt = new Map<string, number>();
  const latencies: number[] = [];
  let lastReceipt = 0;
  let errors = 0;
  let firstError: unknown;
  for (let index = 0; index < SUBSCRIBERS; index += 1) {
    const client =
      path === 'direct to chat'
        ? stack.subgraphClient('chat', reader.principal)
        : stack.routerClient(reader.token);
    clients.push(client);
    client.subscribe<{ messagePosted: { body: string } }>(
      // Chat alone cannot resolve identity's `displayName`: the direct baseline always selects what chat owns.
      { query: subscription(WITH_ENTITY && path === 'through the router'), variables: { c: conversationId } },
      {
        next: (result) => {
          const body = result.data?.messagePosted.body ?? '';
          if (result.errors) errors += 1;
          if (body.startsWith('warm')) {
            warm[index] = true;
            return;
          }
          const sent = postedAt.get(body);
          if (sent === undefined) return;
          lastReceipt = performance.now();
          latencies.push(lastReceipt - sent);
          received[index]! += 1;
        },
        error: (error) => {
          errors += 1;
          firstError ??= error;
        },
        complete: () => undefined,
      },
    );
  }
  const postDirect = async (body: string) => {
    const result = await graphql(
      stack.chat.subgraph.graphqlUrl,
      POST,
      { input: { conversationId, body } },
      // Signed per post: router tokens live 60 s, and a large run posts for longer.
      await asRouter(stack.secret, poster.principal),
    );
    if (result.errors) throw new Error(JSON.stringify(result.errors));
  };
  // Subscriptions start asynchronously: warm-up messages until every subscriber has seen one.
  const warmUntil = Date.now() + TIMEOUT_MS;
  while (warm.some((seen) => !seen)) {
    if (Date.now() > warmUntil || errors >= SUBSCRIBERS) {
      throw new Error(
        `only ${warm.filter(Boolean).length} of ${SUBSCRIBERS} subscribers started; first error: ${JSON.stringify(firstError)}`,
      );
    }
    await postDirect(`warm ${Date.now()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const open = memory();

  const started = performance.now();
  for (let index = 0; index < MESSAGES; index += 1) {
    const body = `m${index}`;
    postedAt.set(body, performance.now());
    await postDirect(body);
    if (POST_INTERVAL_MS > 0) await new Promise((resolve) => setTimeout(resolve, POST_INTERVAL_MS));
  }
  await until(
    () => received.every((count) => count >= MESSAGES),
    TIMEOUT_MS,
    () => `every subscriber to receive ${MESSAGES} (lowest ${Math.min(...received)})`,
  );
  const elapsedSeconds = (lastReceipt - started) / 1000;
  await Promise.allSettled(clients.map((client) => client.dispose()));
  if (errors > 0) process.stdout.write(`${path}: ${errors} errors\n`);
  return {
    path,
    subscribers: SUBSCRIBERS,
    messages: MESSAGES,
    'delivered/s': Math.round((SUBSCRIBERS * MESSAGES) / elapsedSeconds),
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'heap KiB/conn': (open.heap - before.heap) / 1024 / SUBSCRIBERS,
    'rss KiB/conn': (open.rss - before.rss) / 1024 / SUBSCRIBERS,
  };
}

/** One path in this process (a child of the run): prints its row as JSON. */
async function child(path: 'direct to chat' | 'through the router'): Promise<void> {
  const stack = await startBenchStack({});
  try {
    const alice = await stack.createUser('Alice');
    const bob = await stack.createUser('Bob');
    const { createConversation } = await stack.call(
      `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
      { input: { title: 'bench', participantUserIds: [bob.id] } },
      alice.token,
    );
    const row = await measure(path, stack, alice, bob, createConversation.id);
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(row)}\n`);
  } finally {
    await stack.close();
  }
}

/** Each path runs in a fresh process, so one's freed memory does not flatter the other's RSS. */
function runChild(path: string): Promise<Row> {
  return new Promise((resolve, reject) => {
    const spawned = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, [PATH_VARIABLE]: path },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    spawned.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    spawned.on('error', reject);
    spawned.on('close', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line)
        return reject(new Error(`${path} failed (exit ${code}): ${output.slice(-2_000)}`));
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as Row);
    });
  });
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    process.stderr.write(`bench/subscriptions: gave up after ${TIMEOUT_MS * 3} ms\n`);
    process.exit(1);
  }, TIMEOUT_MS * 3);
  deadline.unref();
  const only = process.env[PATH_VARIABLE];
  if (only === 'direct to chat' || only === 'through the router') return child(only);
  const rows = [await runChild('direct to chat'), await runChild('through the router')];
  process.stdout.write(
    `\nbench/subscriptions: ${SUBSCRIBERS} graphql-ws subscribers on one conversation, ${MESSAGES} messages every ${POST_INTERVAL_MS} ms${WITH_ENTITY ? ', author.user.displayName from identity per event' : ''}${gc ? '' : ' (run with --expose-gc for steadier memory figures)'}\n\n`,
  );
  printTable(rows);
  const [direct, routed] = rows;
  const share = (key: 'heap KiB/conn' | 'rss KiB/conn') => (routed![key] - direct![key]).toFixed(1);
  process.stdout.write(
    `\nrouter share per connection ≈ ${share('heap KiB/conn')} KiB heap, ${share('rss KiB/conn')} KiB RSS (router row minus direct row: the router's client socket, session, subscription and its socket to chat)\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
