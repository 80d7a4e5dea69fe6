import { envInt } from '@cap/runtime';
import { z } from 'zod';

/** How the router serves subscriptions; every field has its default and unit beside it (docs/CONVENTIONS.md §12). */
export interface SubscriptionSettings {
  /** Path of the Server-Sent Events endpoint (graphql-sse, distinct connections mode). Default `/graphql/stream`. */
  ssePath: string;
  /** A WebSocket that sends no `connection_init` within this is closed with 4408 (ms, default 3,000). */
  connectionInitTimeoutMs: number;
  /** Open subscription connections (WebSocket + SSE) per router instance; more are refused (default 10,000). */
  maxConnections: number;
  /** Open subscription connections per client address; more are refused (default 1,000). */
  maxConnectionsPerAddress: number;
  /** Subscriptions running at once on one WebSocket; more get OPERATION_LIMIT_EXCEEDED (default 100). */
  maxSubscriptionsPerConnection: number;
  /**
   * Events one subscription may hold while its client reads slower than the subgraph writes (default 1,000). A
   * resumable subscription (see `resumableFields.ts`) then pauses its upstream and resumes it from its cursor
   * once the client caught up; any other subscription ends with OPERATION_LIMIT_EXCEEDED.
   */
  maxBufferedEvents: number;
  /** Events of one subscription whose entity fields are being resolved at once, delivered in order (default 8). */
  eventConcurrency: number;
  /** WebSocket-level ping to clients; a client that does not pong within the same time is dropped (ms, default 12,000; 0 = off). */
  keepAliveMs: number;
  /** API-key connections re-check their key this often, so a revoked key ends its sockets (ms, default 30,000). */
  apiKeyRecheckMs: number;
  /** First wait before reconnecting to a subgraph whose socket dropped (ms, default 100), doubled per attempt. */
  upstreamRetryInitialMs: number;
  /** Longest wait between two reconnection attempts (ms, default 2,000). */
  upstreamRetryMaxMs: number;
  /** A subgraph unreachable for this long ends its subscriptions with SUBGRAPH_UNAVAILABLE (ms, default 30,000). */
  upstreamUnavailableAfterMs: number;
  /** The router pings each subgraph socket this often (ms, default 10,000; 0 = off). */
  upstreamKeepAliveMs: number;
  /** A subgraph socket that does not pong within this is dropped and reconnected (ms, default 5,000). */
  upstreamPongTimeoutMs: number;
  /**
   * Identical client subscriptions (same plan, variables and identity) share one upstream subscription and one
   * completion per event (default true; ADR 0021).
   */
  shareUpstreams: boolean;
}

export const DEFAULT_SUBSCRIPTION_SETTINGS: Readonly<SubscriptionSettings> = Object.freeze({
  ssePath: '/graphql/stream',
  connectionInitTimeoutMs: 3_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 1_000,
  maxSubscriptionsPerConnection: 100,
  maxBufferedEvents: 1_000,
  eventConcurrency: 8,
  keepAliveMs: 12_000,
  apiKeyRecheckMs: 30_000,
  upstreamRetryInitialMs: 100,
  upstreamRetryMaxMs: 2_000,
  upstreamUnavailableAfterMs: 30_000,
  upstreamKeepAliveMs: 10_000,
  upstreamPongTimeoutMs: 5_000,
  shareUpstreams: true,
});

/**
 * The environment variables of the settings above, for the router's `config.ts` to spread into its schema
 * (`...subscriptionEnv`) and pass through {@link subscriptionSettingsFromEnv}. All optional; unset = default.
 * Each integer has a range: durations at most an hour (a day for the upstream give-up), counts far above any one
 * machine's use, so a typo is refused at start instead of overflowing a timer or a buffer.
 */
export const subscriptionEnv = {
  SUBSCRIPTION_SSE_PATH: z
    .string()
    .regex(/^\/[\w/-]*$/)
    .optional(),
  SUBSCRIPTION_INIT_TIMEOUT_MS: envInt(100, 600_000).optional(),
  SUBSCRIPTION_MAX_CONNECTIONS: envInt(1, 1_000_000).optional(),
  SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS: envInt(1, 1_000_000).optional(),
  SUBSCRIPTION_MAX_PER_CONNECTION: envInt(1, 100_000).optional(),
  SUBSCRIPTION_MAX_BUFFERED_EVENTS: envInt(10, 1_000_000).optional(),
  SUBSCRIPTION_EVENT_CONCURRENCY: envInt(1, 1_024).optional(),
  SUBSCRIPTION_KEEP_ALIVE_MS: envInt(0, 3_600_000).optional(),
  SUBSCRIPTION_UPSTREAM_UNAVAILABLE_AFTER_MS: envInt(0, 86_400_000).optional(),
  SUBSCRIPTION_SHARE_UPSTREAMS: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
} as const;

type SubscriptionEnv = { [K in keyof typeof subscriptionEnv]: z.output<(typeof subscriptionEnv)[K]> };

/** Settings from parsed {@link subscriptionEnv} values (unset ones keep their default). */
export function subscriptionSettingsFromEnv(env: Partial<SubscriptionEnv>): Partial<SubscriptionSettings> {
  const settings: Partial<SubscriptionSettings> = {
    ssePath: env.SUBSCRIPTION_SSE_PATH,
    connectionInitTimeoutMs: env.SUBSCRIPTION_INIT_TIMEOUT_MS,
    maxConnections: env.SUBSCRIPTION_MAX_CONNECTIONS,
    maxConnectionsPerAddress: env.SUBSCRIPTION_MAX_CONNECTIONS_PER_ADDRESS,
    maxSubscriptionsPerConnection: env.SUBSCRIPTION_MAX_PER_CONNECTION,
    maxBufferedEvents: env.SUBSCRIPTION_MAX_BUFFERED_EVENTS,
    eventConcurrency: env.SUBSCRIPTION_EVENT_CONCURRENCY,
    keepAliveMs: env.SUBSCRIPTION_KEEP_ALIVE_MS,
    upstreamUnavailableAfterMs: env.SUBSCRIPTION_UPSTREAM_UNAVAILABLE_AFTER_MS,
    shareUpstreams: env.SUBSCRIPTION_SHARE_UPSTREAMS,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

/** Defaults overridden by whatever `overrides` sets. */
export function resolveSubscriptionSettings(
  overrides: Partial<SubscriptionSettings> | undefined,
): SubscriptionSettings {
  return {
    ...DEFAULT_SUBSCRIPTION_SETTINGS,
    ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined)),
  };
}
