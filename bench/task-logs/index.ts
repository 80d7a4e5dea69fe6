/**
 * Live task logs through the router. One task runs `seq 1 N` (BENCH_LINES, 10,000) in the shell executor while S
 * graphql-ws subscribers (BENCH_SUBSCRIBERS, 200) watch its log. Four rows per round, side by side in one run, a
 * fresh task each: the subscribers straight on the orchestration subgraph and through the router, each with the
 * per-line subscription (baseline: `taskLogs`, one event per line per subscriber) and the batched one (candidate:
 * `taskLogBatches`, ADR 0033: whatever is ready per event, up to TASK_LOG_BATCH_MAX lines). Both run the current
 * log writer (lines live once their seqs are reserved, ADR 0028, WebSocket frames corked per tick). Rounds
 * (BENCH_ROUNDS, 1) interleave the rows so that a machine whose load drifts treats both alike; a second table
 * prints candidate / baseline ratios.
 * Prints lines/s delivered (all subscribers, and per subscriber), p50/p99 emit-to-receipt latency per line (from
 * the entry's `createdAt`, i.e. when the command printed it, to when a subscriber received it; a batch's receipt
 * time applies to each of its lines), subscription events per subscriber, the p99 of each line's last send (when
 * the servers handed it to the last subscriber's socket: the servers' part, before the kernel and the clients'
 * parsing, serverSends.ts), the p99 of each line's first receipt (writing and publishing, before the fan-out), and
 * the busy time of the servers' thread and of the subscribers' thread from the first line to the last receipt
 * (event-loop utilisation: on one machine they share its cores, so together they bound the latency), and the writes each line cost, counted in the database:
 * task_logs rows, outbox rows (= Kafka events) and SQL statements per line.
 *
 *   npx tsx --conditions=source bench/task-logs/index.ts
 *   BENCH_LINES=2000 BENCH_SUBSCRIBERS=20 npx tsx --conditions=source bench/task-logs/index.ts
 *
 * Knobs: BENCH_LINES (10000), BENCH_SUBSCRIBERS (200), BENCH_ROUNDS (1),
 * BENCH_SUBSCRIPTIONS (baseline,candidate), BENCH_PATHS (direct,router), BENCH_TIMEOUT_MS (300000), BENCH_WARMUP (1 unmeasured round), BENCH_TRACE (0), BENCH_SPLIT (1). Each row prints the load average (1 min) at its start and end: on a shared machine
 * compare the ratios, not the absolute numbers. Needs PostgreSQL
 * (TEST_DATABASE_URL) and Redis (REDIS_URL); the servers run in this process on loopback, the subscribers in a
 * worker thread (subscribers.worker.mjs), so that receiving is not counted as the servers' time.
 */
import { loadavg } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { sharedPayloadOptions, signRouterToken, webSocketSendOptions } from '@cap/runtime';
import { LiveTopic } from '@cap/orchestration';
import {
  printTable,
  startBenchStack,
  until,
  type BenchStack,
  type BenchUser,
} from '../subscriptions/stack.js';
import { lastSendLatencies, startRecordingSends } from './serverSends.js';

const LINES = Number(process.env['BENCH_LINES'] ?? 10_000);
const SUBSCRIBERS = Number(process.env['BENCH_SUBSCRIBERS'] ?? 200);
/** Per row: a row that does not finish in time is printed with how far it got. */
const TIMEOUT_MS = Number(process.env['BENCH_TIMEOUT_MS'] ?? 300_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
/**
 * Unmeasured rounds first (BENCH_WARMUP, 1): the first task through a fresh process pays for compiling the
 * GraphQL, log and socket paths, which a server that has been running does not.
 */
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 1);
/** BENCH_TRACE=1: prints each row's timeline on the live bus (entries per message, created, published, stored). */
const TRACE = process.env['BENCH_TRACE'] === '1';
/** BENCH_SPLIT=0: every message goes out whole, its payload encoded once per subscriber (before ADR 0039's split). */
if (process.env['BENCH_SPLIT'] === '0') sharedPayloadOptions.splitMinChars = Number.POSITIVE_INFINITY;
/** Which subscriptions to run: `baseline,candidate` (default: per-line `taskLogs`, batched `taskLogBatches`). */
const WRITERS = (process.env['BENCH_SUBSCRIPTIONS'] ?? 'baseline,candidate').split(',') as Writer[];
type Writer = 'baseline' | 'candidate';
/** Which paths to run: `direct,router` (default), or one of them. */
const PATHS = (process.env['BENCH_PATHS'] ?? 'direct,router')
  .split(',')
  .map((name) => (name === 'direct' ? 'direct to orchestration' : 'through the router') as Path);
type Path = 'direct to orchestration' | 'through the router';
/** The subscribers attach during this pause before the command starts printing. */
const START_DELAY_SECONDS = 3;

/** What the subscribers' worker thread (subscribers.worker.mjs) reports. */
interface Progress {
  kind: 'progress';
  delivered: number;
  slowest: number;
  firstWritten: number;
  lastReceipt: number;
  errors: number;
}
interface Done {
  kind: 'done';
  lines: number[];
  latencies: Float64Array;
  /** Per line, the latency of its first receipt by any subscriber: writing and publishing, before the fan-out. */
  first: Float64Array;
  errors: number;
  firstWritten: number;
  lastReceipt: number;
  /** Subscription events received, all subscribers. */
  events: number;
  /** The subscribers' thread's busy time from the first line it received. */
  busyMs: number;
}

const TASK_LOGS = `subscription($t: ID!) { taskLogs(taskId: $t, afterSeq: 0) { seq kind message createdAt } }`;
const TASK_LOG_BATCHES = `subscription($t: ID!) { taskLogBatches(taskId: $t, afterSeq: 0) { lastSeq entries { seq kind message createdAt } } }`;

async function measure(
  path: Path,
  writer: Writer,
  stack: BenchStack,
  user: BenchUser,
): Promise<Record<string, string | number>> {
  const orchestration = stack.orchestration!;
  // Both rows run the current writer (ADR 0028): only the subscription differs.
  orchestration.deps.settings.logPublishBeforeCommit = true;
  webSocketSendOptions.corkPerTick = true;
  const loadBefore = loadavg()[0]!;
  const statementsBefore = orchestration.statements.count;
  const { createTask } = await stack.call(
    `mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
    {
      input: {
        title: `bench ${path} ${writer}`,
        command: `sleep ${START_DELAY_SECONDS}; seq 1 ${LINES}`,
        strategy: 'SINGLE_SHOT',
        timeoutSeconds: 3_600,
      },
    },
    user.token,
  );
  const taskId = createTask.id as string;
  // Stages inside the server process, from the line's createdAt: on the live bus (written and published, before
  // any GraphQL work), and stored (the writer's `{ stored }` note).
  const onBus: number[] = [];
  const createdAt = new Map<number, number>();
  const stored: number[] = [];
  let storedUpTo = 0;
  let traceStart: number | undefined;
  /** Upstream subscriptions the router held while the log was live (its shared groups and its own sockets). */
  let upstreams = 0;
  /** This (the servers') thread's event-loop utilisation when the first line reached the live bus. */
  let busySince: EventLoopUtilization | undefined;
  const tap = await orchestration.deps.live.subscribe(LiveTopic.taskLogs(taskId), (message) => {
    const now = Date.now();
    if (path === 'through the router') {
      const stats = stack.router.subscriptionStats();
      upstreams = Math.max(upstreams, stats.upstreamSockets + stats.sharedUpstreams);
    }
    const live = message as {
      entries?: Array<{ seq: number; kind: string; createdAt: string }>;
      stored?: number;
    };
    if (TRACE) {
      // The row's timeline from the first line's createdAt: what each live message carried and when it came.
      const times = (live.entries ?? []).map((entry) => Date.parse(entry.createdAt));
      traceStart ??= times.length > 0 ? Math.min(...times) : undefined;
      const at = (time: number) => `+${time - (traceStart ?? time)} ms`;
      if (live.entries?.length) {
        process.stdout.write(
          `trace: ${live.entries.length} entries (seq ${live.entries[0]!.seq}–${live.entries.at(-1)!.seq}) created ${at(Math.min(...times))}–${at(Math.max(...times))}, on the bus ${at(now)}\n`,
        );
      }
      if (live.stored !== undefined)
        process.stdout.write(`trace: stored up to seq ${live.stored} ${at(now)}\n`);
    }
    for (const entry of live.entries ?? []) {
      if (entry.kind !== 'COMMAND_OUTPUT') continue;
      busySince ??= performance.eventLoopUtilization();
      const at = Date.parse(entry.createdAt);
      onBus.push(now - at);
      createdAt.set(entry.seq, at);
    }
    if (live.stored !== undefined) {
      for (let seq = storedUpTo + 1; seq <= live.stored; seq += 1) {
        const at = createdAt.get(seq);
        if (at !== undefined) stored.push(now - at);
        createdAt.delete(seq);
      }
      storedUpTo = Math.max(storedUpTo, live.stored);
    }
  });
  const url = (
    path === 'direct to orchestration' ? orchestration.subgraph.graphqlUrl : stack.router.graphqlUrl
  ).replace(/^http/, 'ws');
  const connectionParams = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async () =>
      path === 'direct to orchestration'
        ? {
            routerToken: await signRouterToken(stack.secret, {
              principal: user.principal,
              requestId: randomUUID(),
              clientIp: '127.0.0.1',
            }),
          }
        : { authorization: `Bearer ${user.token}` },
    ),
  );
  startRecordingSends();
  // The subscribers run in a worker thread, as clients elsewhere would: their parsing is not the servers' time.
  const worker = new Worker(new URL('./subscribers.worker.mjs', import.meta.url), {
    workerData: {
      url,
      connectionParams,
      query: writer === 'baseline' ? TASK_LOGS : TASK_LOG_BATCHES,
      field: writer === 'baseline' ? 'taskLogs' : 'taskLogBatches',
      variables: { t: taskId },
    },
  });
  let progress: Progress = {
    kind: 'progress',
    delivered: 0,
    slowest: 0,
    firstWritten: Number.POSITIVE_INFINITY,
    lastReceipt: 0,
    errors: 0,
  };
  const done = new Promise<Done>((resolve, reject) => {
    worker.on('message', (message: Progress | Done) => {
      if (message.kind === 'progress') progress = message;
      else resolve(message);
    });
    worker.once('error', reject);
  });
  const started = performance.now();
  let complete = true;
  try {
    await until(
      () => progress.slowest >= LINES,
      TIMEOUT_MS,
      () => `every subscriber to receive ${LINES} lines`,
    );
  } catch {
    // Reported, not fatal: the row says how far the slowest subscriber got within BENCH_TIMEOUT_MS.
    complete = false;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const serversBusyMs = busySince
    ? performance.eventLoopUtilization(performance.eventLoopUtilization(), busySince).active
    : 0;
  const sent = lastSendLatencies(writer === 'baseline' ? 'taskLogs' : 'taskLogBatches');
  worker.postMessage({ kind: 'finish' });
  const result = await done;
  await worker.terminate();
  await tap.close();
  const delivered = result.lines.reduce((sum, count) => sum + count, 0);
  const latencies = result.latencies.sort();
  const first = result.first.sort();
  const percentileOf = (p: number, values: Float64Array = latencies) =>
    values.length === 0
      ? Number.NaN
      : values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;
  const { errors, firstWritten, lastReceipt } = result;

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
    subscription: writer === 'baseline' ? 'taskLogs (per line)' : 'taskLogBatches',
    writer,
    load: `${loadBefore.toFixed(1)}–${loadavg()[0]!.toFixed(1)}`,
    subscribers: SUBSCRIBERS,
    lines: LINES,
    complete: complete ? 'yes' : `no (slowest ${Math.min(...result.lines)})`,
    'lines/s delivered': Math.round(delivered / seconds),
    'lines/s per sub': Math.round(delivered / SUBSCRIBERS / seconds),
    'events/sub': Math.round(result.events / SUBSCRIBERS),
    'p50 ms': percentileOf(50),
    'p99 ms': percentileOf(99),
    'p99 sent ms': percentileOf(99, sent),
    'p99 first ms': percentileOf(99, first),
    'p99 on bus ms': percentileOf(99, Float64Array.from(onBus).sort()),
    'p99 stored ms': percentileOf(99, Float64Array.from(stored).sort()),
    'log rows': logRows,
    'outbox rows': outboxRows,
    'log rows/line': (logRows / LINES).toFixed(4),
    'Kafka events/line': (outboxRows / LINES).toFixed(4),
    'SQL stmts/line': (statements / LINES).toFixed(4),
    'servers busy s': (serversBusyMs / 1000).toFixed(2),
    'clients busy s': (result.busyMs / 1000).toFixed(2),
    'router upstreams': path === 'through the router' ? upstreams : '—',
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
    for (let round = 0; round < WARMUP; round += 1) {
      for (const path of PATHS) for (const writer of WRITERS) await measure(path, writer, stack, user);
    }
    const rows: Array<Record<string, string | number>> = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const path of PATHS) {
        for (const writer of WRITERS)
          rows.push({ round: round + 1, ...(await measure(path, writer, stack, user)) });
      }
    }
    process.stdout.write(
      `\nbench/task-logs: one task printing ${LINES} lines (seq 1 ${LINES}) watched by ${SUBSCRIBERS} graphql-ws subscribers\n\n`,
    );
    printTable(rows);
    const ratios = ratioRows(rows);
    if (ratios.length > 0) {
      process.stdout.write('\ncandidate / baseline (same round, same path; < 1 is better for latency):\n\n');
      printTable(ratios);
    }
    process.stdout.write(
      "\nlog rows include the executor's own entries; Kafka events = TaskLogAppended outbox rows (one per batch); SQL statements/line counts every statement orchestration sent during the run (claims, heartbeats, log batches, outbox relay).\n",
    );
  } finally {
    await stack.close();
  }
}

/** Candidate / baseline per round and path. */
function ratioRows(
  rows: ReadonlyArray<Record<string, string | number>>,
): Array<Record<string, string | number>> {
  const ratios: Array<Record<string, string | number>> = [];
  for (const candidate of rows.filter((row) => row['writer'] === 'candidate')) {
    const baseline = rows.find(
      (row) =>
        row['writer'] === 'baseline' &&
        row['round'] === candidate['round'] &&
        row['path'] === candidate['path'],
    );
    if (!baseline) continue;
    const ratio = (key: string) => (Number(candidate[key]) / Number(baseline[key])).toFixed(3);
    ratios.push({
      round: candidate['round']!,
      path: candidate['path']!,
      'p50 ms': ratio('p50 ms'),
      'p99 ms': ratio('p99 ms'),
      'p99 sent ms': ratio('p99 sent ms'),
      'p99 first ms': ratio('p99 first ms'),
      'p99 on bus ms': ratio('p99 on bus ms'),
      'lines/s delivered': ratio('lines/s delivered'),
      'events/sub': ratio('events/sub'),
      'SQL stmts/line': ratio('SQL stmts/line'),
      'load (baseline; candidate)': `${baseline['load']}; ${candidate['load']}`,
    });
  }
  return ratios;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
