import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Liveness and readiness. `/health` says the process is up; `/ready` runs every registered check with a
 * timeout and reports each one's status and latency.
 *
 * Not every dependency is equal (ADR 0012): without a *required* one (PostgreSQL, the record) the service cannot
 * do its job and is `unready` (HTTP 503, a load balancer takes it out). Without an *optional* one (Redis, a cache
 * and signal bus; Kafka, behind the outbox) it still serves most traffic: it is `degraded` (HTTP 200) and names
 * the dependency, so operators see it and load balancers keep it.
 */
export type ReadinessCheck = () => Promise<unknown>;

/** A check with its weight: `required: false` makes a failure degrade the service instead of failing it. */
export interface ReadinessDependency {
  check: ReadinessCheck;
  required: boolean;
}

/** What `/ready` probes, by name (`database`, `cache:redis`). A bare function is a required dependency. */
export type ReadinessChecks = Record<string, ReadinessCheck | ReadinessDependency>;

/** Marks `check` optional: when it fails the service is degraded, still ready. */
export function optionalDependency(check: ReadinessCheck): ReadinessDependency {
  return { check, required: false };
}

/**
 * What a check resolves with when the dependency answers but reports itself degraded (e.g. a subgraph whose
 * Redis is down, probed by the router): the check counts as degraded, not up, and never as down.
 */
export class DegradedDependency {
  constructor(readonly details?: unknown) {}
}

export interface CheckResult {
  name: string;
  status: 'up' | 'degraded' | 'down';
  /** Whether the service is unready without it. */
  required: boolean;
  latencyMs: number;
  error?: string;
  details?: unknown;
}

export interface ReadinessReport {
  /** `unready` when a required dependency is down; `degraded` when an optional one is down or degraded. */
  status: 'ready' | 'degraded' | 'unready';
  /** Names of the dependencies that are down or degraded but not required. */
  degraded: string[];
  checks: CheckResult[];
}

/** Runs all checks in parallel, each bounded by `timeoutMs`. */
export async function runReadiness(
  checks: ReadinessChecks,
  options: { timeoutMs?: number } = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, entry]): Promise<CheckResult> => {
      const { check, required } = typeof entry === 'function' ? { check: entry, required: true } : entry;
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const details = await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const latencyMs = round(performance.now() - started);
        if (details instanceof DegradedDependency) {
          const result: CheckResult = { name, status: 'degraded', required, latencyMs };
          if (details.details !== undefined) result.details = details.details;
          return result;
        }
        const result: CheckResult = { name, status: 'up', required, latencyMs };
        if (details !== undefined && details !== null && typeof details === 'object')
          result.details = details;
        return result;
      } catch (error) {
        return {
          name,
          status: 'down',
          required,
          latencyMs: round(performance.now() - started),
          error: error instanceof Error ? error.message : String(error),
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const degraded = results
    .filter((result) => result.status !== 'up' && !(result.required && result.status === 'down'))
    .map((result) => result.name);
  const unready = results.some((result) => result.required && result.status === 'down');
  return {
    status: unready ? 'unready' : degraded.length > 0 ? 'degraded' : 'ready',
    degraded,
    checks: results,
  };
}

/**
 * The `/ready` answer: HTTP 200 when ready or degraded, 503 when unready. Only `detailed` callers see which
 * dependency failed and why (error messages name hosts, ports and internals); everyone else gets the status.
 */
export function readinessResponse(
  service: string,
  report: ReadinessReport,
  detailed: boolean,
): { statusCode: number; body: Record<string, unknown> } {
  const statusCode = report.status === 'unready' ? 503 : 200;
  if (!detailed) return { statusCode, body: { service, status: report.status } };
  return { statusCode, body: { service, ...report } };
}

/**
 * Whether a `/ready` caller is on this host: a direct loopback connection (an operator, a sidecar); a request
 * relayed by a proxy, which sets `X-Forwarded-For` or `Forwarded`, does not count. Servers also trust the router
 * token and development mode.
 */
export function isInternalCaller(req: IncomingMessage): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers['forwarded'] !== undefined) return false;
  return isLoopback(req.socket.remoteAddress);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
