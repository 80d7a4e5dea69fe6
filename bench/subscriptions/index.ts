/**
 * Chat fan-out through the router's federated subscriptions. N graphql-ws subscribers watch one conversation's
 * `messagePosted`; M messages are posted (straight to chat, so every row measures delivery only). Three rows, side
 * by side in one run: the N subscribers directly on the chat subgraph (the baseline), through the router with
 * upstream sharing off (every client subscription its own upstream, as before ADR 0021), and through the router.
 * Prints messages/s delivered, p50/p99 post-to-receipt latency, errors, and the servers' heap per connection:
 * idle (connections acknowledged, nothing subscribed) and subscribed. Each row runs in a fresh child process on
 * loopback holding the router and the subgraphs; the subscribers run in a child process of their own
 * (subscribers.worker.mjs), so the heap and RSS growth are the servers' own (in the router rows: the router's
 * connections plus chat's share of the upstream subscriptions).
 *
 *   npx tsx --conditions=source bench/subscriptions/index.ts
 *   BENCH_SUBSCRIBERS=200 BENCH_MESSAGES=50 npx tsx --expose-gc --conditions=source bench/subscriptions/index.ts
 *   BENCH_SUBSCRIBERS=10000 BENCH_MESSAGES=20 BENCH_ROWS=router npm run bench -- subscriptions   # capacity run
 *
 * Knobs: BENCH_SUBSCRIBERS (1000), BENCH_MESSAGES (100), BENCH_POST_INTERVAL_MS (20), BENCH_ENTITY=1 (also
 * select `author.user.displayName`, resolved by identity for every event), BENCH_ROWS (`all`; `router` = only
 * the router row: the capacity run with 10,000 concurrent subscribers on one router), BENCH_TIMEOUT_MS (180000).
 * Needs PostgreSQL (TEST_DATABASE_URL) and Redis (REDIS_URL); see stack.ts.
 */
import { fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { signRouterToken } from '@cap/runtime';
import { asRouter, graphql } from '@cap/testkit';
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

/** The rows: the baseline straight on chat, the router without sharing (as before ADR 0021), and the router. */
const PATHS = ['direct to chat', 'router, sharing off', 'through the router'] as const;
type Path = (typeof PATHS)[number];
const ROWS: readonly Path[] = process.env['BENCH_ROWS'] === 'router' ? ['through the router'] : PATHS;

interface Row {
  [column: string]: string | number;
  path: string;
  subscribers: number;
  messages: number;
  'delivered/s': number;
  'p50 ms': number;
  'p99 ms': number;
  'idle heap KiB/conn': number;
  'heap KiB/conn': number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { heap: number; rss: number } {
  gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

/** What the subscribers' process (subscribers.worker.mjs) reports. */
type WorkerMessage =
  | { kind: 'connected'; count: number; failed: number; firstError?: string }
  | { kind: 'progress'; warm: number; lowest: number; errors: number; firstError?: string }
  | { kind: 'done'; receipts: Float64Array; errors: number };

async function measure(
  path: Path,
  stack: BenchStack,
  poster: BenchUser,
  reader: BenchUser,
  conversationId: string,
): Promise<Row> {
  const direct = path === 'direct to chat';
  const before = memory();
  const workerData = {
    url: (direct ? stack.chat.subgraph.graphqlUrl : stack.router.graphqlUrl).replace(/^http/, 'ws'),
    // One router token for every direct connection: each checks it once, in connection_init, within its 60 s.
    connectionParams: direct
      ? {
          routerToken: await signRouterToken(stack.secret, {
            principal: reader.principal,
            requestId: randomUUID(),
            clientIp: '127.0.0.1',
          }),
        }
      : { authorization: `Bearer ${reader.token}` },
    count: SUBSCRIBERS,
    // Chat alone cannot resolve identity's `displayName`: the direct baseline always selects what chat owns.
    query: subscription(WITH_ENTITY && !direct),
    variables: { c: conversationId },
    field: 'messagePosted',
  };
  const worker = fork(fileURLToPath(new URL('./subscribers.worker.mjs', import.meta.url)), [], {
    env: { ...process.env, BENCH_SUBSCRIBERS_WORKER: JSON.stringify(workerData) },
    serialization: 'advanced',
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let progress: Extract<WorkerMessage, { kind: 'progress' }> = {
    kind: 'progress',
    warm: 0,
    lowest: 0,
    errors: 0,
  };
  let connected: Extract<WorkerMessage, { kind: 'connected' }> | undefined;
  const done = new Promise<Extract<WorkerMessage, { kind: 'done' }>>((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'connected') connected = message;
      else if (message.kind === 'progress') progress = message;
      else resolve(message);
    });
    worker.once('error', reject);
  });
  await until(
    () => connected !== undefined,
    TIMEOUT_MS,
    () => `${SUBSCRIBERS} connections to be acknowledged`,
  );
  // Reported, not fatal: the row's `connect errors` says how many could not connect (a capacity run's answer).
  const connectErrors = connected!.failed;
  if (connectErrors > 0)
    process.stderr.write(`${connectErrors} of ${SUBSCRIBERS} connections failed: ${connected!.firstError}\n`);
  const idle = memory();
  worker.send({ kind: 'subscribe' });
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
  while (progress.warm < SUBSCRIBERS - connectErrors) {
    if (Date.now() > warmUntil || progress.errors >= SUBSCRIBERS) {
      throw new Error(
        `only ${progress.warm} of ${SUBSCRIBERS} subscribers started; first error: ${progress.firstError}`,
      );
    }
    // While hundreds of subscriptions start (each reads the database once), a post may time out: try again.
    await postDirect(`warm ${Date.now()}`).catch((error: unknown) =>
      process.stderr.write(`warm-up post failed, retrying: ${String(error).slice(0, 200)}\n`),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const open = memory();
  const routerStats = stack.router.subscriptionStats();

  const postedAt: number[] = [];
  for (let index = 0; index < MESSAGES; index += 1) {
    postedAt.push(Date.now());
    await postDirect(`m${index}`);
    if (POST_INTERVAL_MS > 0) await new Promise((resolve) => setTimeout(resolve, POST_INTERVAL_MS));
  }
  let complete = true;
  try {
    await until(
      () => progress.lowest >= MESSAGES,
      TIMEOUT_MS,
      () => `every subscriber to receive ${MESSAGES} (lowest ${progress.lowest})`,
    );
  } catch {
    complete = false;
  }
  worker.send({ kind: 'finish' });
  const result = await done;
  worker.kill();
  const latencies: number[] = [];
  let lastReceipt = 0;
  for (let index = 0; index < result.receipts.length; index += 2) {
    const at = result.receipts[index + 1]!;
    latencies.push(at - postedAt[result.receipts[index]!]!);
    if (at > lastReceipt) lastReceipt = at;
  }
  const elapsedSeconds = (lastReceipt - postedAt[0]!) / 1000;
  return {
    path,
    subscribers: SUBSCRIBERS,
    messages: MESSAGES,
    complete: complete ? 'yes' : `no (lowest ${progress.lowest})`,
    'connect errors': connectErrors,
    errors: result.errors - connectErrors,
    'delivered/s': Math.round(latencies.length / elapsedSeconds),
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'idle heap KiB/conn': (idle.heap - before.heap) / 1024 / SUBSCRIBERS,
    'heap KiB/conn': (open.heap - before.heap) / 1024 / SUBSCRIBERS,
    'rss MiB': open.rss / 1024 / 1024,
    'upstream sockets': direct ? 0 : routerStats.upstreamSockets + routerStats.sharedUpstreams,
  };
}

/** One path in this process (a child of the run): prints its row as JSON. */
async function child(path: Path): Promise<void> {
  const stack = await startBenchStack({
    subscriptions: { shareUpstreams: path !== 'router, sharing off' },
  });
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
  if (PATHS.includes(only as Path)) return child(only as Path);
  const rows: Row[] = [];
  for (const path of ROWS) rows.push(await runChild(path));
  process.stdout.write(
    `\nbench/subscriptions: ${SUBSCRIBERS} graphql-ws subscribers on one conversation, ${MESSAGES} messages every ${POST_INTERVAL_MS} ms${WITH_ENTITY ? ', author.user.displayName from identity per event' : ''}${gc ? '' : ' (run with --expose-gc for steadier memory figures)'}\n\n`,
  );
  printTable(rows);
  const off = rows.find((row) => row.path === 'router, sharing off');
  const on = rows.find((row) => row.path === 'through the router');
  if (off && on) {
    const ratio = (key: string) => (Number(on[key]) / Number(off[key])).toFixed(2);
    process.stdout.write(
      `\nsharing on / off: delivered/s ${ratio('delivered/s')}x, p99 ${ratio('p99 ms')}x, heap per subscribed connection ${ratio('heap KiB/conn')}x\n`,
    );
  }
  process.stdout.write(
    "\nidle heap KiB/conn: the servers' heap growth with N connections acknowledged and nothing subscribed (router rows: the router's client connections alone); heap KiB/conn: once every subscriber received a message.\n",
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
