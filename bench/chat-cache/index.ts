/**
 * The chat subgraph's recent-message cache under a realistic read mix. C conversations (BENCH_CONVERSATIONS, 20)
 * of M messages each (BENCH_MESSAGES, 150; the cache keeps the newest 100 per conversation) are read R times
 * (BENCH_READS, 3000) by 16 concurrent clients: conversations picked by a Zipf law (a few are busy, most are
 * quiet), and within one: 80% the newest page, 12% the second page, 5% an older page, 3% a new post. Two rows:
 * straight to chat (baseline) and through the router. Prints requests/s, p50/p99 latency and the cache hit rate
 * from `chatCacheStats` (the counters' change during the mix; target > 80%).
 *
 *   npx tsx --conditions=source bench/chat-cache/index.ts
 *   BENCH_READS=500 BENCH_CONVERSATIONS=5 npx tsx --conditions=source bench/chat-cache/index.ts
 *
 * Knobs: BENCH_CONVERSATIONS, BENCH_MESSAGES, BENCH_READS, BENCH_CONCURRENCY (16), BENCH_TIMEOUT_MS (300000).
 * Needs PostgreSQL (TEST_DATABASE_URL) and Redis (REDIS_URL; the cache runs in Redis as in production).
 */
import { performance } from 'node:perf_hooks';
import { asRouter, graphql } from '@cap/testkit';
import {
  percentile,
  printTable,
  startBenchStack,
  type BenchStack,
  type BenchUser,
} from '../subscriptions/stack.js';

const CONVERSATIONS = Number(process.env['BENCH_CONVERSATIONS'] ?? 20);
const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 150);
const READS = Number(process.env['BENCH_READS'] ?? 3_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const TIMEOUT_MS = Number(process.env['BENCH_TIMEOUT_MS'] ?? 300_000);

const PAGE = `query($id: ID!, $after: String) { conversation(id: $id) { messages(first: 50, after: $after) { edges { node { id seq body createdAt } } pageInfo { endCursor } } } }`;
const POST = `mutation($input: PostMessageInput!) { postMessage(input: $input) { seq } }`;
const STATS = `{ chatCacheStats { backend hits misses errors hitRate } }`;

interface Conversation {
  id: string;
  /** Cursors after which the 2nd, 3rd and 4th pages start. */
  pageCursors: string[];
}

/** A Zipf(s = 1.1) pick among n items: item 0 is the busiest. */
function zipf(n: number): () => number {
  const weights = Array.from({ length: n }, (_, index) => 1 / (index + 1) ** 1.1);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let sum = 0;
  const cumulative = weights.map((weight) => (sum += weight / total));
  return () => {
    const draw = Math.random();
    const index = cumulative.findIndex((bound) => draw <= bound);
    return index === -1 ? n - 1 : index;
  };
}

async function seed(stack: BenchStack, alice: BenchUser, bob: BenchUser): Promise<Conversation[]> {
  const headers = await asRouter(stack.secret, alice.principal);
  const conversations = await Promise.all(
    Array.from({ length: CONVERSATIONS }, async (_, index) => {
      const { createConversation } = await stack.call(
        `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
        { input: { title: `bench ${index}`, participantUserIds: [bob.id] } },
        alice.token,
      );
      const id = createConversation.id as string;
      for (let seq = 1; seq <= MESSAGES; seq += 1) {
        const result = await graphql(
          stack.chat.subgraph.graphqlUrl,
          POST,
          { input: { conversationId: id, body: `message ${seq} of conversation ${index}` } },
          headers,
        );
        if (result.errors) throw new Error(JSON.stringify(result.errors));
      }
      const pageCursors: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 3; page += 1) {
        const data: any = await stack.call(PAGE, { id, after }, bob.token);
        after = data.conversation.messages.pageInfo.endCursor as string | null;
        if (after) pageCursors.push(after);
      }
      return { id, pageCursors };
    }),
  );
  return conversations;
}

async function stats(
  stack: BenchStack,
): Promise<{ backend: string; hits: number; misses: number; errors: number }> {
  const { chatCacheStats } = await stack.call(STATS, {}, stack.adminToken);
  return chatCacheStats;
}

async function measure(
  path: 'direct to chat' | 'through the router',
  stack: BenchStack,
  bob: BenchUser,
  conversations: Conversation[],
): Promise<Record<string, string | number>> {
  const pick = zipf(conversations.length);
  const directHeaders = await asRouter(stack.secret, bob.principal);
  const send = async (query: string, variables: Record<string, unknown>): Promise<void> => {
    const result =
      path === 'direct to chat'
        ? await graphql(stack.chat.subgraph.graphqlUrl, query, variables, directHeaders)
        : await graphql(stack.router.graphqlUrl, query, variables, { authorization: `Bearer ${bob.token}` });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
  };
  const before = await stats(stack);
  const latencies: number[] = [];
  let reads = 0;
  let writes = 0;
  let next = 0;
  const started = performance.now();
  const deadline = Date.now() + TIMEOUT_MS;
  const worker = async (): Promise<void> => {
    while (next < READS && Date.now() < deadline) {
      next += 1;
      const conversation = conversations[pick()]!;
      const draw = Math.random();
      const begin = performance.now();
      if (draw < 0.03) {
        await send(POST, { input: { conversationId: conversation.id, body: `live ${next}` } });
        writes += 1;
      } else {
        // Newest page 80%, second page 12%, an older one (beyond the cached 100) 5%.
        const after =
          draw < 0.83
            ? null
            : draw < 0.95
              ? conversation.pageCursors[0]
              : conversation.pageCursors[1 + Math.floor(Math.random() * 2)];
        await send(PAGE, { id: conversation.id, after: after ?? null });
        reads += 1;
      }
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const after = await stats(stack);
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return {
    path,
    reads,
    writes,
    'requests/s': Math.round((reads + writes) / seconds),
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'cache hits': hits,
    'cache misses': misses,
    'cache errors': after.errors - before.errors,
    'hit rate': `${((100 * hits) / Math.max(1, hits + misses)).toFixed(1)}%`,
    backend: after.backend,
  };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    process.stderr.write(`bench/chat-cache: gave up after ${TIMEOUT_MS * 3} ms\n`);
    process.exit(1);
  }, TIMEOUT_MS * 3);
  deadline.unref();
  const stack = await startBenchStack({});
  try {
    const alice = await stack.createUser('Alice');
    const bob = await stack.createUser('Bob');
    const conversations = await seed(stack, alice, bob);
    const rows = [
      await measure('direct to chat', stack, bob, conversations),
      await measure('through the router', stack, bob, conversations),
    ];
    process.stdout.write(
      `\nbench/chat-cache: ${CONVERSATIONS} conversations x ${MESSAGES} messages, ${READS} requests by ${CONCURRENCY} clients (Zipf over conversations; 80% newest page, 12% second, 5% older, 3% posts); target hit rate > 80%\n\n`,
    );
    printTable(rows);
  } finally {
    await stack.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
