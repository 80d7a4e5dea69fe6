/**
 * The policy-decision cache measured alone, without noise from the rest of the machine: CPU time of
 * `OperationPolicy.prepare` for the benchmark's query as a signed-in admin, with the cache (POLICY_CACHE_SIZE
 * default) and without it (0). Budgets in memory: with Redis the charge adds a round trip of waiting, not CPU.
 */
import { loadConfig, loadSupergraphPolicy, OperationPolicy, RateLimiter } from '@cap/router';
import { scopesForRole, type Logger, type Principal } from '@cap/runtime';
import { BENCH_QUERY } from './data.js';

const ITERATIONS = 2_000;

/** Microseconds of CPU per `prepare` of the benchmark query, with and without the decision cache. */
export async function policyMicroseconds(
  supergraphSdl: string,
  logger: Logger,
): Promise<{ cached: number; uncached: number }> {
  const supergraph = loadSupergraphPolicy(supergraphSdl);
  const limiter = new RateLimiter({ redisUrl: undefined, failureMode: 'open', logger });
  const principal: Principal = {
    kind: 'user',
    userId: 'bench',
    role: 'ADMIN',
    scopes: scopesForRole('ADMIN'),
  };
  const input = {
    query: BENCH_QUERY,
    operationName: 'TestQuery',
    variables: {},
    principal,
    clientIp: '127.0.0.1',
    includeCost: false,
  };
  const measure = async (size: string): Promise<number> => {
    const config = loadConfig({
      NODE_ENV: 'development',
      DATA_DIR: '/tmp',
      POLICY_CACHE_SIZE: size,
      RATE_LIMIT_USER: '1000000000/1h',
    });
    const policy = new OperationPolicy(supergraph, config.policy, limiter);
    for (let index = 0; index < ITERATIONS / 4; index += 1) await policy.prepare(input);
    const started = process.cpuUsage();
    for (let index = 0; index < ITERATIONS; index += 1) {
      const prepared = await policy.prepare(input);
      if (prepared.kind !== 'run')
        throw new Error(`the policies refused the benchmark query: ${JSON.stringify(prepared)}`);
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / ITERATIONS;
  };
  const uncached = await measure('0');
  const cached = await measure('1000');
  await limiter.close();
  return { cached, uncached };
}
