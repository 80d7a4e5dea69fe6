/**
 * Liveness and readiness. `/health` says the process is up; `/ready` runs every registered check with a
 * timeout and reports each one's status and latency, 503 when any fails.
 */
export type ReadinessCheck = () => Promise<unknown>;

export interface CheckResult {
  name: string;
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
  details?: unknown;
}

export interface ReadinessReport {
  status: 'ready' | 'unready';
  checks: CheckResult[];
}

/** Runs all checks in parallel, each bounded by `timeoutMs`. */
export async function runReadiness(
  checks: Record<string, ReadinessCheck>,
  options: { timeoutMs?: number } = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<CheckResult> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const details = await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const result: CheckResult = { name, status: 'up', latencyMs: round(performance.now() - started) };
        if (details !== undefined && typeof details === 'object') result.details = details;
        return result;
      } catch (error) {
        return {
          name,
          status: 'down',
          latencyMs: round(performance.now() - started),
          error: error instanceof Error ? error.message : String(error),
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { status: results.every((result) => result.status === 'up') ? 'ready' : 'unready', checks: results };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
