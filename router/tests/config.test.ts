import { ConfigError } from '@cap/runtime';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

/** Router configuration that must never reach production, and the proxy-trust settings. */
// KAFKA_BROKERS is required in production (credential revocation, ADR 0013); only parsed here, never contacted.
const production = {
  NODE_ENV: 'production',
  INTERNAL_TOKEN_SECRET: 'x'.repeat(40),
  KAFKA_BROKERS: '127.0.0.1:9092',
};

describe('router config', () => {
  it('refuses POLICIES_ENABLED=false in production, naming the variable', () => {
    expect(() => loadConfig({ ...production, POLICIES_ENABLED: 'false' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, POLICIES_ENABLED: 'false' })).toThrow(
      /POLICIES_ENABLED: must not be false when NODE_ENV=production/,
    );
    expect(loadConfig({ ...production }).policy.enabled).toBe(true);
    expect(
      loadConfig({ NODE_ENV: 'development', DATA_DIR: '/tmp/cap-config-test', POLICIES_ENABLED: 'false' })
        .policy.enabled,
    ).toBe(false);
  });

  it('reads budgets as <units>/<window> and refuses windows outside 1 s to 366 days and units past 10^12', () => {
    const dev = { NODE_ENV: 'development', DATA_DIR: '/tmp/cap-config-test' };
    const budgetOf = (value: string) => loadConfig({ ...dev, RATE_LIMIT_USER: value }).policy.budgets.user;
    expect(budgetOf('500/30s')).toEqual({ limit: 500, windowMs: 30_000 });
    expect(budgetOf('0/1s')).toEqual({ limit: 0, windowMs: 1_000 });
    expect(budgetOf('1000000000000/366d')).toEqual({ limit: 1e12, windowMs: 366 * 86_400_000 });
    for (const value of [
      '500/0s',
      '500/0d',
      '500/367d',
      '500/99999999999999d',
      '1000000000001/1h',
      '',
      '5e2/1h',
      '0x10/1h',
      '-1/1h',
      '500/1w',
      '500',
    ]) {
      expect(() => loadConfig({ ...dev, RATE_LIMIT_USER: value }), value).toThrow(/RATE_LIMIT_USER:/);
    }
  });

  it('serves no Sandbox in production unless asked', () => {
    expect(loadConfig({ ...production }).sandboxEnabled).toBe(false);
  });

  it('reads TRUST_PROXY as one hop, TRUST_PROXY_HOPS over it, and TRUST_PROXY_CIDRS as ranges', () => {
    expect(loadConfig({ ...production }).trustProxy.hops).toBe(0);
    expect(loadConfig({ ...production, TRUST_PROXY: 'true' }).trustProxy.hops).toBe(1);
    expect(loadConfig({ ...production, TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2' }).trustProxy.hops).toBe(2);
    const cidrs = loadConfig({ ...production, TRUST_PROXY_CIDRS: '10.0.0.0/8, fd00::/8' }).trustProxy.cidrs;
    expect(cidrs.check('10.9.8.7', 'ipv4')).toBe(true);
    expect(cidrs.check('fd12::1', 'ipv6')).toBe(true);
    expect(cidrs.check('11.0.0.1', 'ipv4')).toBe(false);
    expect(() => loadConfig({ ...production, TRUST_PROXY_CIDRS: '10.0.0.0/40' })).toThrow(
      /TRUST_PROXY_CIDRS: "10.0.0.0\/40" is not a CIDR/,
    );
    expect(() => loadConfig({ ...production, TRUST_PROXY_HOPS: '-1' })).toThrow(/TRUST_PROXY_HOPS/);
  });
});
