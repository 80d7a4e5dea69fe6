import { readFileSync } from 'node:fs';
import {
  DegradedDependency,
  optionalDependency,
  type KeyValueStore,
  type ReadinessChecks,
} from '@cap/runtime';
import type { RouterConfig } from './config.js';
import type { RevocationFeed } from './revocation/RevocationFeed.js';
import { subgraphsOf } from './supergraph.js';

/** How long the router waits for one subgraph's `/ready`, ms. */
const SUBGRAPH_READY_TIMEOUT_MS = 2_000;

/**
 * The router's `/ready` checks (ADR 0012): each subgraph's `/ready` (required; a degraded subgraph makes the
 * router degraded), the cache (optional) and, when configured, the revocation feed (required: fail closed).
 */
export function routerReadiness(options: {
  config: RouterConfig;
  kv: KeyValueStore;
  revocations?: RevocationFeed | undefined;
}): ReadinessChecks {
  const { config, kv, revocations } = options;
  const subgraphs = subgraphsOf(readFileSync(config.supergraphPath, 'utf8'), config.subgraphUrls);
  const readiness: ReadinessChecks = Object.fromEntries(
    subgraphs.map(({ name, url }) => [
      `subgraph:${name}`,
      async () => {
        const response = await fetch(new URL('/ready', url), {
          signal: AbortSignal.timeout(SUBGRAPH_READY_TIMEOUT_MS),
        });
        if (!response.ok) throw new Error(`${name} is not ready (HTTP ${response.status})`);
        // Ready but without an optional dependency (its Redis, say): the router is degraded with it (ADR 0012).
        const body = (await response.json().catch(() => ({}))) as { status?: unknown };
        return body.status === 'degraded' ? new DegradedDependency() : undefined;
      },
    ]),
  );
  // API-key lookups and the budgets work without Redis (cache misses, local limiter): degraded, not down.
  readiness[`cache:${kv.kind}`] = optionalDependency(() => kv.ping());
  if (revocations) readiness['revocations'] = revocations.readiness;
  return readiness;
}
