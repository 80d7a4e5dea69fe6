/**
 * What the router's policies cost. One operation, side by side in one run, against the same identity subgraph:
 *   1. the router with every policy on (authorization, cost, budget charged in Redis or memory, limits),
 *   2. the same router with POLICIES_ENABLED=false (authentication and the gateway only),
 *   3. a bare @apollo/gateway (Apollo Server + gateway, no authentication, a pre-signed router token).
 * Prints requests/s and p99 latency of each and the ratios. Target: policies cost < 10% of throughput.
 *
 *   npm run bench -- router-overhead            (embedded PGlite, in-memory budgets)
 *   REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- router-overhead
 *
 * Knobs: BENCH_SECONDS (10 per target), BENCH_CONNECTIONS (20), BENCH_ROUNDS (2, targets interleaved).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import autocannon from 'autocannon';
import {
  loadConfig as loadRouterConfig,
  loadSupergraphPolicy,
  OperationPolicy,
  RateLimiter,
  startRouter,
} from '@cap/router';
import {
  createKeyValueStore,
  createLogger,
  ROUTER_TOKEN_HEADER,
  scopesForRole,
  signRouterToken,
  type Principal,
} from '@cap/runtime';
import { startBenchIdentity } from '../federation/identity.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 20);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const OPERATION = 'query Bench { me { id displayName role } scopes { name } }';

interface Measured {
  name: string;
  requestsPerSecond: number[];
  p99: number[];
  errors: number;
}

async function measure(
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    // The load generator runs in a worker thread, so it does not steal the event loop it measures.
    workers: 1,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: OPERATION }),
  });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function main(): Promise<void> {
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-bench-'));
  const kv = createKeyValueStore(process.env['REDIS_URL']);
  const identity = await startBenchIdentity({ dataDir, kv, logger });
  const { secret, admin } = identity;
  const routerEnv = {
    NODE_ENV: 'development',
    PORT: '0',
    DATA_DIR: dataDir,
    INTERNAL_TOKEN_SECRET: secret,
    SUBGRAPH_IDENTITY_URL: identity.graphqlUrl,
    IDENTITY_INTERNAL_URL: identity.url,
    SUPERGRAPH_POLL_INTERVAL_MS: '0',
    LOG_LEVEL: 'warn',
    ...(process.env['REDIS_URL']
      ? { REDIS_URL: process.env['REDIS_URL'], RATE_LIMIT_KEY_PREFIX: `bench:${randomUUID()}:` }
      : {}),
    // The budget is charged on every request but never runs out during the run.
    RATE_LIMIT_USER: '1000000000/1h',
  };
  const withPolicies = await startRouter({ config: loadRouterConfig(routerEnv), kv, logger });
  const withoutPolicies = await startRouter({
    config: loadRouterConfig({ ...routerEnv, POLICIES_ENABLED: 'false' }),
    kv,
    logger,
  });

  // The bare gateway: no authentication; it forwards a router token for the same admin (re-signed every 30 s).
  const login = await fetch(withPolicies.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query:
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken user { id } } }',
      variables: { e: admin.email, p: admin.password },
    }),
  });
  const session = ((await login.json()) as { data: { login: { accessToken: string; user: { id: string } } } })
    .data.login;
  const principal: Principal = {
    kind: 'user',
    userId: session.user.id,
    role: 'ADMIN',
    scopes: scopesForRole('ADMIN'),
  };
  let token = { value: '', signedAt: 0 };
  const routerToken = async (): Promise<string> => {
    if (Date.now() - token.signedAt > 30_000) {
      token = {
        value: await signRouterToken(secret, { principal, requestId: 'bench', clientIp: '127.0.0.1' }),
        signedAt: Date.now(),
      };
    }
    return token.value;
  };
  const supergraph = loadSupergraphPolicy(readFileSync('schema/supergraph.graphql', 'utf8'));
  const bare = new ApolloServer({
    gateway: new ApolloGateway({
      supergraphSdl: supergraph.gatewaySdl,
      buildService: ({ name, url }) =>
        new (class extends RemoteGraphQLDataSource {
          override async willSendRequest({
            request,
          }: Parameters<RemoteGraphQLDataSource['willSendRequest'] & {}>[0]): Promise<void> {
            request.http?.headers.set(ROUTER_TOKEN_HEADER, await routerToken());
          }
        })({ url: name === 'identity' ? identity.graphqlUrl : url }),
    }),
    csrfPrevention: true,
  });
  const { url: bareUrl } = await startStandaloneServer(bare, { listen: { port: 0, host: '127.0.0.1' } });

  const auth = { authorization: `Bearer ${session.accessToken}` };
  const targets: Array<{ name: string; url: string; headers: Record<string, string> }> = [
    { name: 'router, policies on', url: withPolicies.graphqlUrl, headers: auth },
    { name: 'router, policies off', url: withoutPolicies.graphqlUrl, headers: auth },
    { name: 'bare @apollo/gateway', url: bareUrl, headers: {} },
  ];
  // Sanity: each target answers the operation correctly before it is measured.
  for (const target of targets) {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
      body: JSON.stringify({ query: OPERATION }),
    });
    const body = (await response.json()) as { data?: { me?: { role?: string } }; errors?: unknown };
    if (body.data?.me?.role !== 'ADMIN' || body.errors)
      throw new Error(`${target.name} answered ${JSON.stringify(body)}`);
  }

  process.stdout.write(
    `router-overhead: ${OPERATION}\n${CONNECTIONS} connections, ${SECONDS}s per target, ${ROUNDS} rounds interleaved, budgets in ${process.env['REDIS_URL'] ? 'Redis' : 'memory'}, database ${process.env['DATABASE_URL'] ? 'PostgreSQL' : 'PGlite'}\n`,
  );
  const results: Measured[] = targets.map((target) => ({
    name: target.name,
    requestsPerSecond: [],
    p99: [],
    errors: 0,
  }));
  for (const target of targets) await measure(target.url, target.headers, 2); // warm-up: JIT, caches, pools
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [index, target] of targets.entries()) {
      const run = await measure(target.url, target.headers, SECONDS);
      const entry = results[index];
      if (!entry) continue;
      process.stdout.write(
        `  round ${round + 1}  ${target.name.padEnd(24)}${run.rps.toFixed(0).padStart(8)} req/s  p99 ${run.p99.toFixed(1)} ms\n`,
      );
      entry.requestsPerSecond.push(run.rps);
      entry.p99.push(run.p99);
      entry.errors += run.errors;
    }
  }

  const mean = (values: number[]) =>
    values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const [on, off, gateway] = results.map((entry) => ({
    ...entry,
    rps: mean(entry.requestsPerSecond),
    p99ms: mean(entry.p99),
  }));
  if (!on || !off || !gateway) throw new Error('missing results');
  const rows = [on, off, gateway].map((entry) => [
    entry.name.padEnd(24),
    entry.rps.toFixed(0).padStart(8),
    entry.p99ms.toFixed(1).padStart(8),
    (entry.rps / gateway.rps).toFixed(3).padStart(12),
    String(entry.errors).padStart(7),
  ]);
  process.stdout.write(
    `\n${'target'.padEnd(24)}${'req/s'.padStart(8)}${'p99 ms'.padStart(8)}${'vs gateway'.padStart(12)}${'errors'.padStart(7)}\n`,
  );
  for (const row of rows) process.stdout.write(`${row.join('')}\n`);
  const overhead = 1 - on.rps / off.rps;
  process.stdout.write(
    `\npolicies cost ${(overhead * 100).toFixed(1)}% of the router's throughput (target < 10%)\n`,
  );

  // End to end, the difference is often inside the run-to-run noise (the subgraph and the database share the
  // two cores). The policies' own CPU time per operation, measured alone, bounds it without noise.
  const config = loadRouterConfig(routerEnv);
  // Budgets in memory here: with Redis, the charge adds a round trip of waiting, not CPU.
  const limiter = new RateLimiter({ redisUrl: undefined, failureMode: 'open', logger });
  const policy = new OperationPolicy(supergraph, config.policy, limiter);
  const input = {
    query: OPERATION,
    operationName: undefined,
    variables: {},
    principal,
    clientIp: '127.0.0.1',
    includeCost: false,
  };
  for (let index = 0; index < 2_000; index += 1) await policy.prepare(input);
  const iterations = 20_000;
  const started = performance.now();
  for (let index = 0; index < iterations; index += 1) await policy.prepare(input);
  const microseconds = ((performance.now() - started) * 1_000) / iterations;
  await limiter.close();
  const requestMicroseconds = 1_000_000 / off.rps;
  process.stdout.write(
    `policy CPU per operation (limits, cached validation, authorization, cost, budget): ` +
      `${microseconds.toFixed(1)} µs, ${((microseconds / requestMicroseconds) * 100).toFixed(1)}% of a request's ${(requestMicroseconds / 1_000).toFixed(2)} ms at the measured throughput\n`,
  );

  await bare.stop();
  await withPolicies.close();
  await withoutPolicies.close();
  await identity.close();
  await kv.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
