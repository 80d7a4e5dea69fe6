import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { workerCount } from '../src/workers.js';

/** The throughput settings (README "Router throughput"): defaults, and bad values refused by name. */
const base = { NODE_ENV: 'development', DATA_DIR: '/tmp/cap-config-test' };

describe('router throughput config', () => {
  it('defaults to every lever on, one process, 64 connections per subgraph', () => {
    const config = loadConfig(base);
    expect(config.operationDeduplication).toBe(true);
    expect(config.subgraphDeduplication).toBe(true);
    expect(config.policy.decisionCacheSize).toBe(1_000);
    expect(config.subgraphConnections).toBe(64);
    expect(workerCount(config.workers)).toBe(1);
  });

  it('reads the switches, sizes and ROUTER_WORKERS (a count or auto)', () => {
    const config = loadConfig({
      ...base,
      OPERATION_DEDUPLICATION: 'false',
      SUBGRAPH_DEDUPLICATION: 'false',
      POLICY_CACHE_SIZE: '0',
      SUBGRAPH_CONNECTIONS: '8',
      ROUTER_WORKERS: '3',
    });
    expect(config.operationDeduplication).toBe(false);
    expect(config.subgraphDeduplication).toBe(false);
    expect(config.policy.decisionCacheSize).toBe(0);
    expect(config.subgraphConnections).toBe(8);
    expect(workerCount(config.workers)).toBe(3);
    expect(workerCount(loadConfig({ ...base, ROUTER_WORKERS: 'auto' }).workers)).toBe(availableParallelism());
  });

  it.each([
    ['ROUTER_WORKERS', '0'],
    ['ROUTER_WORKERS', '65'],
    ['ROUTER_WORKERS', 'many'],
    ['ROUTER_WORKERS', '1.5'],
    ['SUBGRAPH_CONNECTIONS', '0'],
    ['SUBGRAPH_CONNECTIONS', '100000'],
    ['POLICY_CACHE_SIZE', '-1'],
    ['POLICY_CACHE_SIZE', '1e9'],
    ['OPERATION_DEDUPLICATION', 'maybe'],
    ['SUBGRAPH_DEDUPLICATION', '2'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(new RegExp(name));
  });
});
