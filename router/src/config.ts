import {
  commaList,
  developmentSecret,
  envBoolean,
  envInt,
  logLevel,
  nodeEnv,
  parseCidrs,
  parseEnv,
  port,
  type TrustedProxies,
} from '@cap/runtime';
import { z } from 'zod';
import { DEFAULT_OPERATION_LIMITS } from './policy/limits.js';
import { subscriptionEnv, subscriptionSettingsFromEnv } from './subscriptions/settings.js';
import type { PolicySettings } from './policy/OperationPolicy.js';
import type { Budget } from './policy/rateLimiter.js';

const WINDOW_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A budget's bounds: units up to 10^12 (0 refuses everything), a window from 1 s to 366 days. */
const BUDGET_MAX_UNITS = 1_000_000_000_000;
const BUDGET_MAX_WINDOW_MS = 366 * WINDOW_UNITS_MS.d;

/**
 * A cost budget written `<units>/<window>`, e.g. `50000/1h`, `1000/1m`, `500/30s`. A window of 0 would expire the
 * Redis counter at once (no budget at all), and one past Redis' expiry range fails every charge: both are refused.
 */
const budget = z
  .string()
  .regex(/^\d+\/\d*[smhd]$/, 'expected <units>/<window>, e.g. 50000/1h')
  .transform((value, context): Budget => {
    const [units = '0', window = '1h'] = value.split('/');
    const count = window.length > 1 ? Number(window.slice(0, -1)) : 1;
    const result = {
      limit: Number(units),
      windowMs: count * WINDOW_UNITS_MS[window.at(-1) as keyof typeof WINDOW_UNITS_MS],
    };
    if (result.limit > BUDGET_MAX_UNITS)
      context.addIssue({ code: 'custom', message: `units at most ${BUDGET_MAX_UNITS}` });
    if (result.windowMs < WINDOW_UNITS_MS.s || result.windowMs > BUDGET_MAX_WINDOW_MS)
      context.addIssue({ code: 'custom', message: 'window from 1s to 366d' });
    return result;
  });

/** Subgraph URL overrides: `SUBGRAPH_<NAME>_URL` (e.g. SUBGRAPH_IDENTITY_URL) beats the supergraph's routing URL. */
const SUBGRAPH_URL_PREFIX = 'SUBGRAPH_';
const SUBGRAPH_URL_SUFFIX = '_URL';
/**
 * The `SUBGRAPH_<NAME>_URL` variables that point the router at running subgraphs, by subgraph name
 * (`ml-classifier` → SUBGRAPH_ML_CLASSIFIER_URL, the inverse of what `loadConfig` reads): the one-process platform
 * and the router's test stack start every subgraph and route to their GraphQL URLs. A subgraph started without a
 * server (`subgraph: null`) is left to the supergraph's routing URL.
 */
export function subgraphUrlEnv(
  running: Record<string, { subgraph: { graphqlUrl: string } | null }>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, { subgraph }] of Object.entries(running)) {
    if (!subgraph) continue;
    env[`${SUBGRAPH_URL_PREFIX}${name.toUpperCase().replaceAll('-', '_')}${SUBGRAPH_URL_SUFFIX}`] =
      subgraph.graphqlUrl;
  }
  return env;
}

/** The github subgraph's routing URL in the committed supergraph. */
const DEFAULT_GITHUB_URL = 'http://127.0.0.1:4005/graphql';

const schema = z
  .object({
    NODE_ENV: nodeEnv,
    /** Interface to bind; 0.0.0.0 in containers. */
    HOST: z.string().default('127.0.0.1'),
    /** HTTP port (default 4000; 0 picks a free one). */
    PORT: port.default(4000),
    LOG_LEVEL: logLevel,
    /** Where development secrets live (default `.data`). */
    DATA_DIR: z.string().default('.data'),
    /** The composed supergraph the router serves (default `schema/supergraph.graphql`). */
    SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),
    /**
     * Development only: poll every subgraph's SDL this often and recompose when one changed, so a subgraph's
     * schema change shows up without restarting the router (ms, 0 to 86,400,000 = a day, default 2,000; 0 disables).
     */
    SUPERGRAPH_POLL_INTERVAL_MS: envInt(0, 86_400_000).default(2_000),
    /** Identity's base URL, for the JWKS document and API-key verification (default http://127.0.0.1:4001). */
    IDENTITY_INTERNAL_URL: z.string().url().default('http://127.0.0.1:4001'),
    /** Redis URL for the API-key cache; unset = in-memory. */
    REDIS_URL: z.string().url().optional(),
    /** Shared with the subgraphs; signs the identity token passed to them. >= 32 characters. */
    INTERNAL_TOKEN_SECRET: z.string().min(32).optional(),
    /** Accepted `iss` of access tokens. */
    JWT_ISSUER: z.string().min(1).default('cap-identity'),
    /** Accepted `aud` of access tokens. */
    JWT_AUDIENCE: z.string().min(1).default('cap-router'),
    /** How long a verified API key is trusted before asking identity again (seconds, default 30). */
    API_KEY_CACHE_TTL_SECONDS: envInt(1, 3_600).default(30),
    /** Origins allowed by CORS (comma-separated; `*` allows any; default none in production, any in development). */
    CORS_ORIGINS: commaList.optional(),
    /** Serve Apollo Sandbox on the router's URL (default: true in development, false in production). */
    SANDBOX_ENABLED: envBoolean.optional(),
    /** Compatibility: `true` means TRUST_PROXY_HOPS=1 (one proxy in front); ignored when TRUST_PROXY_HOPS is set (default false). */
    TRUST_PROXY: envBoolean.default(false),
    /**
     * Proxies in front of the router trusted to append to X-Forwarded-For, counted from the router (0 = none,
     * the socket's peer is the client; default 0, or 1 with TRUST_PROXY=true). The client address is the
     * right-most untrusted entry.
     */
    TRUST_PROXY_HOPS: envInt(0, 16).optional(),
    /** Proxies trusted by address: comma-separated CIDRs, IPv4 and IPv6 (e.g. `10.0.0.0/8,fd00::/8`; default none). */
    TRUST_PROXY_CIDRS: z
      .string()
      .default('')
      .superRefine((value, ctx) => {
        try {
          parseCidrs(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    /** Cap on request bodies (bytes, 1,024 to 268,435,456 = 256 MiB, default 2 MiB). */
    MAX_BODY_BYTES: envInt(1_024, 256 * 1024 * 1024).default(2 * 1024 * 1024),
    /**
     * Timeout of one subgraph fetch: waiting for its headers, then for each chunk of its body (ms, 100 to
     * 3,600,000 = an hour, default 10,000).
     */
    SUBGRAPH_TIMEOUT_MS: envInt(100, 3_600_000).default(10_000),
    // Throughput (README "Router throughput", docs/adr/0022-router-throughput.md).
    /** Keep-alive connections per subgraph origin (default 64). */
    SUBGRAPH_CONNECTIONS: envInt(1, 1_024).default(64),
    /** Identical query fetches in flight for one identity share one subgraph request (default true). */
    SUBGRAPH_DEDUPLICATION: envBoolean.default(true),
    /** Identical queries in flight for one identity share one execution, policies still run per request (default true). */
    OPERATION_DEDUPLICATION: envBoolean.default(true),
    /** Policy decisions of variable-free operations cached per document and caller rights (entries, default 1,000; 0 = off). */
    POLICY_CACHE_SIZE: envInt(0, 100_000).default(1_000),
    /** Router processes sharing the port (node:cluster; default 1; `auto` = one per core). Budgets live in Redis. */
    ROUTER_WORKERS: z.union([z.literal('auto'), envInt(1, 64)]).default(1),

    // Policies (README "Router policy"): field-level authorization, cost, budgets, operation limits.
    /** Master switch of every policy below (default true; false only for benchmarks and debugging, refused in production). */
    POLICIES_ENABLED: envBoolean.default(true),
    /** `filter`: drop unauthorized fields and report each; `reject`: refuse the whole operation (default filter). */
    AUTHORIZATION_MODE: z.enum(['filter', 'reject']).default('filter'),
    /** `enforce`: refuse operations above MAX_COST; `measure`: log them and run them (default enforce). */
    COST_MODE: z.enum(['enforce', 'measure']).default('enforce'),
    /** Highest estimated cost an operation may have (1 to 100,000,000, default 5,000). */
    MAX_COST: envInt(1, 100_000_000).default(5_000),
    /** Items assumed in a list without `@listSize` or slicing argument (default 10). */
    COST_DEFAULT_LIST_SIZE: envInt(1, 10_000).default(10),
    /** Weight of each mutation root field (default 10). */
    COST_MUTATION_WEIGHT: envInt(0, 10_000).default(10),
    /** Cost budget of a signed-in user, `<units>/<window>` (default 50000/1h). */
    RATE_LIMIT_USER: budget.prefault('50000/1h'),
    /** Cost budget of an anonymous client address (default 1000/1m). */
    RATE_LIMIT_ANONYMOUS: budget.prefault('1000/1m'),
    /** Cost budget of an API key of tier FREE (default 20000/1h). */
    RATE_LIMIT_TIER_FREE: budget.prefault('20000/1h'),
    /** Cost budget of an API key of tier PRO (default 200000/1h). */
    RATE_LIMIT_TIER_PRO: budget.prefault('200000/1h'),
    /** Cost budget of an API key of tier ENTERPRISE (default 2000000/1h). */
    RATE_LIMIT_TIER_ENTERPRISE: budget.prefault('2000000/1h'),
    /** While Redis is unreachable: `open` (a local in-memory limiter takes over) or `closed` (503) (default open). */
    RATE_LIMIT_FAILURE_MODE: z.enum(['open', 'closed']).default('open'),
    /** Prefix of the budget keys in Redis (default `cap:rl:`); separates environments sharing one Redis. */
    RATE_LIMIT_KEY_PREFIX: z.string().min(1).max(64).default('cap:rl:'),
    /** Deepest field nesting, fragments expanded (1 to 1,000, default 12). */
    MAX_DEPTH: envInt(1, 1_000).default(DEFAULT_OPERATION_LIMITS.maxDepth),
    /** Aliased fields per document (0 to 100,000, default 30). */
    MAX_ALIASES: envInt(0, 100_000).default(DEFAULT_OPERATION_LIMITS.maxAliases),
    /** Root fields per operation (1 to 10,000, default 20). */
    MAX_ROOT_FIELDS: envInt(1, 10_000).default(DEFAULT_OPERATION_LIMITS.maxRootFields),
    /** Field selections per document, duplicates included (1 to 1,000,000, default 300). */
    MAX_FIELDS: envInt(1, 1_000_000).default(DEFAULT_OPERATION_LIMITS.maxFields),
    /** Directive usages per document (0 to 100,000, default 50). */
    MAX_DIRECTIVES: envInt(0, 100_000).default(DEFAULT_OPERATION_LIMITS.maxDirectives),
    /** Lexical tokens per document (10 to 10,000,000, default 2,000). */
    MAX_TOKENS: envInt(10, 10_000_000).default(DEFAULT_OPERATION_LIMITS.maxTokens),
    /** Size of the query text, bytes (64 to 268,435,456, default 32,768). */
    MAX_DOCUMENT_BYTES: envInt(64, 256 * 1024 * 1024).default(DEFAULT_OPERATION_LIMITS.maxDocumentBytes),
    /** Operations per batched (JSON array) request; 0 turns batching off (default 0). */
    MAX_BATCH_SIZE: envInt(0, 100).default(0),
    /** `enabled`, `admin` (ADMIN callers only) or `disabled` (default: enabled in development, admin in production). */
    INTROSPECTION: z.enum(['enabled', 'admin', 'disabled']).optional(),
    /** Hide "Did you mean …?" suggestions from non-admins (default: true in production). */
    HIDE_SUGGESTIONS: envBoolean.optional(),
    // Subscriptions (README "Subscriptions"): limits and timings of graphql-ws and graphql-sse.
    ...subscriptionEnv,
    // Credential revocation (docs/adr/0013-credential-revocation.md).
    /** Kafka brokers carrying identity's events (comma-separated host:port); required in production. */
    KAFKA_BROKERS: commaList.optional(),
  })
  .passthrough()
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.INTERNAL_TOKEN_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['INTERNAL_TOKEN_SECRET'],
        message: 'required when NODE_ENV=production',
      });
    }
    // Authorization, cost, budgets and limits are the router's security: never off where real callers are.
    if (env.NODE_ENV === 'production' && !env.POLICIES_ENABLED) {
      ctx.addIssue({
        code: 'custom',
        path: ['POLICIES_ENABLED'],
        message: 'must not be false when NODE_ENV=production (benchmarks and debugging only)',
      });
    }
    if (env.NODE_ENV === 'production' && !env.KAFKA_BROKERS?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'required when NODE_ENV=production (credential revocation)',
      });
    }
  });

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const routerEnvSchema = schema;

export type RouterConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; throws a config error naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): RouterConfig {
  return resolveConfig(parseEnv('router', schema, env), env);
}

function resolveConfig(parsed: z.output<typeof schema>, env: Record<string, string | undefined>) {
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(SUBGRAPH_URL_PREFIX) && key.endsWith(SUBGRAPH_URL_SUFFIX) && value) {
      const name = key
        .slice(SUBGRAPH_URL_PREFIX.length, -SUBGRAPH_URL_SUFFIX.length)
        .toLowerCase()
        .replaceAll('_', '-');
      subgraphUrls[name] = z.string().url().parse(value);
    }
  }
  const development = parsed.NODE_ENV !== 'production';
  return {
    nodeEnv: parsed.NODE_ENV,
    development,
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    supergraphPath: parsed.SUPERGRAPH_PATH,
    supergraphPollIntervalMs: development ? parsed.SUPERGRAPH_POLL_INTERVAL_MS : 0,
    identityUrl: parsed.IDENTITY_INTERNAL_URL.replace(/\/$/, ''),
    redisUrl: parsed.REDIS_URL,
    internalTokenSecret:
      parsed.INTERNAL_TOKEN_SECRET ?? developmentSecret(parsed.DATA_DIR, 'INTERNAL_TOKEN_SECRET'),
    jwtIssuer: parsed.JWT_ISSUER,
    jwtAudience: parsed.JWT_AUDIENCE,
    apiKeyCacheTtlSeconds: parsed.API_KEY_CACHE_TTL_SECONDS,
    corsOrigins: parsed.CORS_ORIGINS ?? (development ? ['*'] : []),
    sandboxEnabled: parsed.SANDBOX_ENABLED ?? development,
    trustProxy: {
      hops: parsed.TRUST_PROXY_HOPS ?? (parsed.TRUST_PROXY ? 1 : 0),
      cidrs: parseCidrs(parsed.TRUST_PROXY_CIDRS),
    } satisfies TrustedProxies,
    maxBodyBytes: parsed.MAX_BODY_BYTES,
    subgraphTimeoutMs: parsed.SUBGRAPH_TIMEOUT_MS,
    subgraphConnections: parsed.SUBGRAPH_CONNECTIONS,
    subgraphDeduplication: parsed.SUBGRAPH_DEDUPLICATION,
    operationDeduplication: parsed.OPERATION_DEDUPLICATION,
    workers: parsed.ROUTER_WORKERS,
    subgraphUrls,
    /** Where GitHub's webhooks and OAuth returns are forwarded: SUBGRAPH_GITHUB_URL's origin (default port 4005). */
    githubUrl: new URL(subgraphUrls['github'] ?? DEFAULT_GITHUB_URL).origin,
    maxBatchSize: parsed.MAX_BATCH_SIZE,
    subscriptions: subscriptionSettingsFromEnv(parsed),
    rateLimitFailureMode: parsed.RATE_LIMIT_FAILURE_MODE,
    rateLimitKeyPrefix: parsed.RATE_LIMIT_KEY_PREFIX,
    kafkaBrokers: parsed.KAFKA_BROKERS,
    policy: {
      enabled: parsed.POLICIES_ENABLED,
      decisionCacheSize: parsed.POLICY_CACHE_SIZE,
      authorizationMode: parsed.AUTHORIZATION_MODE,
      costMode: parsed.COST_MODE,
      maxCost: parsed.MAX_COST,
      cost: { defaultListSize: parsed.COST_DEFAULT_LIST_SIZE, mutationWeight: parsed.COST_MUTATION_WEIGHT },
      limits: {
        maxDepth: parsed.MAX_DEPTH,
        maxAliases: parsed.MAX_ALIASES,
        maxRootFields: parsed.MAX_ROOT_FIELDS,
        maxFields: parsed.MAX_FIELDS,
        maxDirectives: parsed.MAX_DIRECTIVES,
        maxTokens: parsed.MAX_TOKENS,
        maxDocumentBytes: parsed.MAX_DOCUMENT_BYTES,
      },
      introspection: parsed.INTROSPECTION ?? (development ? 'enabled' : 'admin'),
      hideSuggestions: parsed.HIDE_SUGGESTIONS ?? !development,
      budgets: {
        user: parsed.RATE_LIMIT_USER,
        anonymous: parsed.RATE_LIMIT_ANONYMOUS,
        tiers: {
          FREE: parsed.RATE_LIMIT_TIER_FREE,
          PRO: parsed.RATE_LIMIT_TIER_PRO,
          ENTERPRISE: parsed.RATE_LIMIT_TIER_ENTERPRISE,
        },
      },
    } satisfies PolicySettings,
  };
}
