/**
 * Live task logs through the router. One task runs `seq 1 N` (BENCH_LINES, 10,000) in the shell executor while S
 * graphql-ws subscribers (BENCH_SUBSCRIBERS, 200) watch its `taskLogs`. Two rows, side by side in one run: the
 * subscribers straight on the orchestration subgraph (baseline), then through the router (a fresh task each).
 * Prints lines/s delivered (all subscribers, and per subscriber), p50/p99 emit-to-receipt latency (from the
 * entry's `createdAt`, i.e. when its batch was written, to when a subscriber received it), and the writes each
 * line cost, counted in the database: task_logs rows, outbox rows (= Kafka events) and SQL statements per line.
 *
 *   npx tsx --conditions=source bench/task-logs/index.ts
 *   BENCH_LINES=2000 BENCH_SUBSCRIBERS=20 npx tsx --conditions=source bench/task-logs/index.ts
 *
 * Knobs: BENCH_LINES (10000), BENCH_SUBSCRIBERS (200), BENCH_TIMEOUT_MS (300000). Needs PostgreSQL
 * (TEST_DATABASE_URL) and Redis (REDIS_URL); everything else runs in this process on loopback.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import {
  percentile,
  printTable,
  startBenchStack,
  until,
  type BenchStack,
  type BenchUser,
} from '../subscriptions/stack.js';

const LINES = Number(process.env['BENCH_LINES'] ?? 10_000);
const SUBSCRIBERS = Number(process.env['BENCH_SUBSCRIBERS'] ?? 200);
/** Per row: a row that does not finish in time is printed with how far it got. */
const TIMEOUT_MS = Number(process.env['BENCH_TIMEOUT_MS'] ?? 300_000);
/** The subscribers attach during this pause before the command starts printing. */
const START_DELAY_SECONDS = 3;

const TASK_LOGS = `subscription($t: ID!) { taskLogs(taskId: $t, afterSeq: 0) { seq kind message createdAt } }`;

async function measure(
  path: 'direct to orchestration' | 'through the router',
  stack: BenchStack,
  user: BenchUser,
): Promise<Record<string, string | number>> {
  const orchestration = stack.orchestration!;
  const statementsBefore = orchestration.statements.count;
  const { createTask } = await stack.call(
    `mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
    {
      input: {
        title: `bench ${path}`,
        command: `sleep ${START_DELAY_SECONDS}; seq 1 ${LINES}`,
        strategy: 'SINGLE_SHOT',
        timeoutSeconds: 3_600,
      },
    },
    user.token,
  );
  const taskId = createTask.id as string;
  const clients: Client[] = [];
  const lines = new Array<number>(SUBSCRIBERS).fill(0);
  const latencies: number[] = [];
  let firstWritten = Number.POSITIVE_INFINITY;
  let lastReceipt = 0;
  let errors = 0;
  for (let index = 0; index < SUBSCRIBERS; index += 1) {
    const client =
      path === 'direct to orchestration'
        ? stack.subgraphClient('orchestration', user.principal)
        : stack.routerClient(user.token);
    clients.push(client);
    client.subscribe<{ taskLogs: { kind: string; createdAt: string } }>(
      { query: TASK_LOGS, variables: { t: taskId } },
      {
        next: (result) => {
          if (result.errors) errors += 1;
          const entry = result.data?.taskLogs;
          if (entry?.kind !== 'COMMAND_OUTPUT') return;
          const now = Date.now();
          const written = Date.parse(entry.createdAt);
          firstWritten = Math.min(firstWritten, written);
          latencies.push(now - written);
          lastReceipt = now;
          lines[index]! += 1;
        },
        error: () => void (errors += 1),
        complete: () => undefined,
      },
    );
  }
  const started = performance.now();
  let complete = true;
  try {
    await until(
      () => lines.every((count) => count >= LINES),
      TIMEOUT_MS,
      () => `every subscriber to receive ${LINES} lines`,
    );
  } catch {
    // Reported, not fatal: the row says how far the slowest subscriber got within BENCH_TIMEOUT_MS.
    complete = false;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const delivered = lines.reduce((sum, count) => sum + count, 0);
  await Promise.allSettled(clients.map((client) => client.dispose()));

  const prisma = orchestration.deps.prisma;
  const [logRows, outboxRows] = await Promise.all([
    prisma.taskLog.count({ where: { taskId } }),
    prisma.outboxEvent.count({ where: { key: taskId, type: 'TaskLogAppended' } }),
  ]);
  const statements = orchestration.statements.count - statementsBefore;
  const seconds = (lastReceipt - firstWritten) / 1000;
  if (errors > 0) process.stdout.write(`${path}: ${errors} subscription errors\n`);
  return {
    path,
    subscribers: SUBSCRIBERS,
    lines: LINES,
    complete: complete ? 'yes' : `no (slowest ${Math.min(...lines)})`,
    'lines/s delivered': Math.round(delivered / seconds),
    'lines/s per sub': Math.round(delivered / SUBSCRIBERS / seconds),
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'log rows': logRows,
    'outbox rows': outboxRows,
    'log rows/line': (logRows / LINES).toFixed(4),
    'Kafka events/line': (outboxRows / LINES).toFixed(4),
    'SQL stmts/line': (statements / LINES).toFixed(4),
    'wall s': wallSeconds,
  };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    process.stderr.write(`bench/task-logs: gave up after ${TIMEOUT_MS * 3} ms\n`);
    process.exit(1);
  }, TIMEOUT_MS * 3);
  deadline.unref();
  const stack = await startBenchStack({ orchestration: true });
  try {
    const user = await stack.createUser('Bench');
    const rows = [
      await measure('direct to orchestration', stack, user),
      await measure('through the router', stack, user),
    ];
    process.stdout.write(
      `\nbench/task-logs: one task printing ${LINES} lines (seq 1 ${LINES}) watched by ${SUBSCRIBERS} graphql-ws subscribers\n\n`,
    );
    printTable(rows);
    process.stdout.write(
      "\nlog rows include the executor's own entries; Kafka events = TaskLogAppended outbox rows (one per batch); SQL statements/line counts every statement orchestration sent during the run (claims, heartbeats, log batches, outbox relay).\n",
    );
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
