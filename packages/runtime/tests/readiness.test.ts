import { describe, expect, it } from 'vitest';
import {
  DegradedDependency,
  isLoopback,
  optionalDependency,
  readinessResponse,
  runReadiness,
  type ReadinessChecks,
} from '../src/health.js';

const up = async (): Promise<void> => undefined;
const down = async (): Promise<never> => {
  throw new Error('connect ECONNREFUSED 10.0.0.7:6379');
};
const degraded = async (): Promise<DegradedDependency> => new DegradedDependency();

describe('readiness: degraded versus down, per dependency', () => {
  it('is unready exactly when a required dependency is down, degraded when only optional ones fail, for every combination', async () => {
    const kinds = { up, down, degraded } as const;
    const names = Object.keys(kinds) as Array<keyof typeof kinds>;
    // Every assignment of up/down/degraded to one required and two optional dependencies.
    for (const database of names) {
      for (const cache of names) {
        for (const live of names) {
          const checks: ReadinessChecks = {
            database: kinds[database],
            cache: optionalDependency(kinds[cache]),
            live: optionalDependency(kinds[live]),
          };
          const report = await runReadiness(checks);
          const optionalFailing = [cache === 'up' ? null : 'cache', live === 'up' ? null : 'live'].filter(
            (name) => name !== null,
          );
          const requiredFailing = database === 'down';
          const expected = requiredFailing
            ? 'unready'
            : database === 'degraded' || optionalFailing.length > 0
              ? 'degraded'
              : 'ready';
          expect({ database, cache, live, status: report.status }).toEqual({
            database,
            cache,
            live,
            status: expected,
          });
          expect(readinessResponse('svc', report, false).statusCode).toBe(requiredFailing ? 503 : 200);
          for (const name of optionalFailing) expect(report.degraded).toContain(name);
        }
      }
    }
  });

  it('shows error messages and dependency names only to detailed (internal) callers', async () => {
    const report = await runReadiness({ database: up, 'cache:redis': optionalDependency(down) });
    expect(readinessResponse('svc', report, false)).toEqual({
      statusCode: 200,
      body: { service: 'svc', status: 'degraded' },
    });
    const detailed = readinessResponse('svc', report, true).body as {
      checks: Array<{ name: string; error?: string }>;
    };
    expect(detailed.checks.find((check) => check.name === 'cache:redis')?.error).toContain('ECONNREFUSED');
  });

  it('treats only loopback addresses as this host', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect({ address, loopback: isLoopback(address) }).toEqual({ address, loopback: true });
    const others = [
      '10.0.0.1',
      '192.168.1.1',
      '::ffff:10.0.0.1',
      '2001:db8::1',
      '128.0.0.1',
      '',
      undefined,
      'localhost',
      '127.0.0.1.evil',
    ];
    for (const address of others)
      expect({ address, loopback: isLoopback(address) }).toEqual({ address, loopback: false });
  });
});
