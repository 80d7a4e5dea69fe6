/**
 * The Guild's federation gateway benchmark workload (four subgraphs with static data: accounts, inventory,
 * products, reviews; the nested k6 query), measured side by side in one run:
 *   1. our router with every policy on (authentication with a real identity access token, limits, validation,
 *      authorization, cost, the budget charged per request),
 *   2. a bare `@apollo/gateway` (Apollo Server, no authentication or policies),
 *   3. Hive Gateway (`@graphql-hive/gateway`, its defaults).
 * The router runs twice: with whole-operation deduplication (its default) and without it (`router, dedup off`:
 * every request executed, the row the targets are about).
 * Every target must answer the query with the same response before it is measured. Prints requests/s, p50 and
 * p99 latency of each and the ratios against both baselines (targets: >= 1.2x Hive Gateway, >= 3x bare gateway).
 *
 *   npm run bench -- federation
 *   REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- federation
 *
 * Knobs: BENCH_SECONDS (10 per target and round), BENCH_CONNECTIONS (50, the benchmark's constant VUs),
 * BENCH_ROUNDS (2, targets interleaved), BENCH_REQUESTS (a number of requests per target and round instead of a
 * duration, for crowded machines), BENCH_ROUTER_VARIANT (JSON object of router env, e.g.
 * `{"SUBGRAPH_DEDUPLICATION":"false"}`: adds a router with those settings, to measure one lever),
 * BENCH_VARIANT_NODE_FLAGS (Node flags of that router's process), BENCH_ROUTER_NODE_FLAGS (Node flags of the
 * `router, dedup off` process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { createKeyValueStore, createLogger } from '@cap/runtime';
import { BENCH_QUERY } from './data.js';
import { startBenchIdentity } from './identity.js';
import { policyMicroseconds } from './policyCpu.js';
import { startBenchProcess, type BenchProcess } from './processes.js';
import { requestPathMicroseconds } from './requestPathCpu.js';
import { composeBenchSupergraph } from './subgraphs.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
/** Requests per target and round instead of BENCH_SECONDS (0: measure for BENCH_SECONDS). */
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 0);
const VARIANT = process.env['BENCH_ROUTER_VARIANT'];
/** Node flags for the variant router's process (BENCH_ROUTER_VARIANT, which may then be `{}`). */
const VARIANT_NODE_FLAGS = (process.env['BENCH_VARIANT_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
/** Node flags for the process of the router without whole-operation deduplication, e.g. `--cpu-prof`. */
const ROUTER_NODE_FLAGS = (process.env['BENCH_ROUTER_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const BODY = JSON.stringify({ query: BENCH_QUERY, operationName: 'TestQuery' });

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  process: BenchProcess<{ url: string }>;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time of the target's process per request, ms. */
  cpuPerRequest: number;
  /** CPU time of the subgraphs' process per request, ms. */
  subgraphCpuPerRequest: number;
}

async function measure(
  target: Target,
  subgraphs: BenchProcess<unknown>,
  seconds: number,
  amount = REQUESTS,
): Promise<Run> {
  const cpuBefore = target.process.cpuMs();
  const subgraphCpuBefore = subgraphs.cpuMs();
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    connections: CONNECTIONS,
    // A fixed number of requests (BENCH_REQUESTS) rather than a duration: on a crowded machine every target still
    // completes enough requests for its CPU per request to mean something.
    ...(amount > 0 ? { amount } : { duration: seconds }),
    headers: { 'content-type': 'application/json', ...target.headers },
    body: BODY,
  });
  const requests = Math.max(1, result.requests.total);
  return {
    rps: result.requests.total / Math.max(0.001, result.duration),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    cpuPerRequest: (target.process.cpuMs() - cpuBefore) / requests,
    subgraphCpuPerRequest: (subgraphs.cpuMs() - subgraphCpuBefore) / requests,
  };
}

async function answer(target: Target): Promise<unknown> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: BODY,
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (response.status !== 200 || body.errors || !body.data)
    throw new Error(`${target.name} answered ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

async function main(): Promise<void> {
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-bench-federation-'));
  const subgraphs = await startBenchProcess<Record<string, string>>('subgraphsProcess.ts', []);
  const supergraphPath = join(dataDir, 'supergraph.graphql');
  const supergraphSdl = composeBenchSupergraph(subgraphs.announced);
  writeFileSync(supergraphPath, supergraphSdl);
  const kv = createKeyValueStore(process.env['REDIS_URL']);
  const identity = await startBenchIdentity({ dataDir, kv, logger });

  const routerEnv: Record<string, string> = {
    NODE_ENV: 'development',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: identity.secret,
    IDENTITY_INTERNAL_URL: identity.url,
    SUPERGRAPH_POLL_INTERVAL_MS: '0',
    ...(process.env['REDIS_URL']
      ? { REDIS_URL: process.env['REDIS_URL'], RATE_LIMIT_KEY_PREFIX: `bench:${randomUUID()}:` }
      : {}),
    // The budget is charged on every request but never runs out during the run.
    RATE_LIMIT_USER: '1000000000/1h',
  };
  const auth = { authorization: `Bearer ${await identity.accessToken()}` };
  const start = async (
    name: string,
    kind: string,
    env: Record<string, string>,
    headers: Record<string, string>,
    flags: readonly string[] = [],
  ): Promise<Target> => {
    const started = await startBenchProcess<{ url: string }>(
      'targetProcess.ts',
      [kind, supergraphPath],
      { BENCH_TARGET_ENV: JSON.stringify(env) },
      flags,
    );
    return { name, url: started.announced.url, headers, process: started };
  };
  const targets: Target[] = [
    await start('router, every policy on', 'router', routerEnv, auth),
    // The same router executing every request (no whole-operation deduplication): the figure the targets are for.
    await start(
      'router, dedup off',
      'router',
      { ...routerEnv, OPERATION_DEDUPLICATION: 'false' },
      auth,
      ROUTER_NODE_FLAGS,
    ),
    ...(VARIANT
      ? [
          await start(
            `router ${VARIANT} ${VARIANT_NODE_FLAGS.join(' ')}`.trim(),
            'router',
            { ...routerEnv, ...(JSON.parse(VARIANT) as object) },
            auth,
            VARIANT_NODE_FLAGS,
          ),
        ]
      : []),
    await start('bare @apollo/gateway', 'apollo', {}, {}),
    await start('Hive Gateway', 'hive', {}, {}),
  ];
  // Equal responses: every target answers the query with the same data, without errors, before it is measured.
  const expected = await answer(targets[targets.length - 1]!);
  for (const target of targets) {
    if (!isDeepStrictEqual(await answer(target), expected))
      throw new Error(`${target.name} answered different data than Hive Gateway`);
  }
  const bytes = Buffer.byteLength(JSON.stringify({ data: expected }));

  process.stdout.write(
    `federation: The Guild's gateway benchmark query (${bytes} bytes of response), responses equal across targets\n` +
      `${CONNECTIONS} connections, ${REQUESTS > 0 ? `${REQUESTS} requests` : `${SECONDS}s`} per target, ${ROUNDS} rounds interleaved, budgets in ${process.env['REDIS_URL'] ? 'Redis' : 'memory'}; ` +
      `each target and the subgraphs in a process of their own\n`,
  );
  for (const target of targets) await measure(target, subgraphs, 2, 0); // warm-up: JIT, caches, pools
  const runs = new Map<string, Run[]>(targets.map((target) => [target.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const target of targets) {
      const run = await measure(target, subgraphs, SECONDS);
      runs.get(target.name)?.push(run);
      process.stdout.write(
        `  round ${round + 1}  ${target.name.padEnd(28)}${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50.toFixed(1)} ms  ` +
          `p99 ${run.p99.toFixed(1)} ms  CPU ${run.cpuPerRequest.toFixed(2)} ms/req (subgraphs ${run.subgraphCpuPerRequest.toFixed(2)})\n`,
      );
    }
  }
  const mean = (values: number[]) =>
    values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const summary = targets.map((target) => {
    const measured = runs.get(target.name) ?? [];
    return {
      name: target.name,
      rps: mean(measured.map((run) => run.rps)),
      p50: mean(measured.map((run) => run.p50)),
      p99: mean(measured.map((run) => run.p99)),
      cpu: mean(measured.map((run) => run.cpuPerRequest)),
      errors: measured.reduce((sum, run) => sum + run.errors, 0),
    };
  });
  const apollo = summary.find((entry) => entry.name === 'bare @apollo/gateway');
  const hive = summary.find((entry) => entry.name === 'Hive Gateway');
  if (!apollo || !hive) throw new Error('missing baselines');
  process.stdout.write(
    `\n${'target'.padEnd(28)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'vs apollo'.padStart(11)}${'vs hive'.padStart(9)}` +
      `${'CPU ms/req'.padStart(12)}${'CPU vs apollo'.padStart(15)}${'CPU vs hive'.padStart(13)}${'errors'.padStart(8)}\n`,
  );
  for (const entry of summary) {
    process.stdout.write(
      `${entry.name.padEnd(28)}${entry.rps.toFixed(0).padStart(8)}${entry.p50.toFixed(1).padStart(8)}${entry.p99.toFixed(1).padStart(8)}` +
        `${(entry.rps / apollo.rps).toFixed(2).padStart(10)}x${(entry.rps / hive.rps).toFixed(2).padStart(8)}x` +
        `${entry.cpu.toFixed(2).padStart(12)}${(apollo.cpu / entry.cpu).toFixed(2).padStart(14)}x${(hive.cpu / entry.cpu).toFixed(2).padStart(12)}x` +
        `${String(entry.errors).padStart(8)}\n`,
    );
  }
  process.stdout.write(
    "\nratios: requests/s over the baseline's; CPU ratios: the baseline's CPU per request over the target's\n" +
      '(capacity per core, the steadier figure when the machine is shared). Targets: router >= 3x bare ' +
      '@apollo/gateway and >= 1.2x Hive Gateway, p99 no worse than either.\n',
  );

  const policy = await policyMicroseconds(supergraphSdl, logger);
  process.stdout.write(
    `policy CPU per request for this query, measured alone: ${policy.uncached.toFixed(1)} µs without the ` +
      `decision cache, ${policy.cached.toFixed(1)} µs with it (${(policy.uncached / policy.cached).toFixed(1)}x)\n`,
  );

  const steps = await requestPathMicroseconds({
    responseJson: JSON.stringify({ data: expected }),
    // A fresh one: on a crowded machine the run can outlast the first token's 15 minutes.
    accessToken: await identity.accessToken(),
    identityUrl: identity.url,
    secret: identity.secret,
    logger,
  });
  process.stdout.write('per-request steps changed by ADR 0029, CPU measured alone (before -> after):\n');
  for (const { step, before, after } of steps)
    process.stdout.write(
      `  ${step.padEnd(46)}${before.toFixed(1).padStart(8)} µs -> ${after.toFixed(1).padStart(7)} µs (${(before / after).toFixed(1)}x)\n`,
    );

  for (const target of targets) await target.process.stop();
  await identity.close();
  await kv.close();
  await subgraphs.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
