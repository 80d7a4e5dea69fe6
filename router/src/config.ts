import { commaList, developmentSecret, envBoolean, logLevel, nodeEnv, parseEnv, port } from '@cap/runtime';
import { z } from 'zod';

/** Subgraph URL overrides: `SUBGRAPH_<NAME>_URL` (e.g. SUBGRAPH_IDENTITY_URL) beats the supergraph's routing URL. */
const SUBGRAPH_URL_PREFIX = 'SUBGRAPH_';
const SUBGRAPH_URL_SUFFIX = '_URL';

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
     * schema change shows up without restarting the router (ms, default 2,000; 0 disables).
     */
    SUPERGRAPH_POLL_INTERVAL_MS: z.coerce.number().int().min(0).default(2_000),
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
    API_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
    /** Origins allowed by CORS (comma-separated; `*` allows any; default none in production, any in development). */
    CORS_ORIGINS: commaList.optional(),
    /** Serve Apollo Sandbox on the router's URL (default: true in development, false in production). */
    SANDBOX_ENABLED: envBoolean.optional(),
    /** Trust X-Forwarded-For for the client address (behind a proxy only; default false). */
    TRUST_PROXY: envBoolean.default(false),
    /** Cap on request bodies (bytes, default 2 MiB). */
    MAX_BODY_BYTES: z.coerce.number().int().min(1_024).default(2 * 1024 * 1024),
    /** Timeout of one subgraph fetch (ms, default 10,000). */
    SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  })
  .passthrough()
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.INTERNAL_TOKEN_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['INTERNAL_TOKEN_SECRET'], message: 'required when NODE_ENV=production' });
    }
  });

export type RouterConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once (STYLE.md §11). */
export function loadConfig(env: Record<string, string | undefined> = process.env): RouterConfig {
  return resolveConfig(parseEnv('router', schema, env), env);
}

function resolveConfig(parsed: z.output<typeof schema>, env: Record<string, string | undefined>) {
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(SUBGRAPH_URL_PREFIX) && key.endsWith(SUBGRAPH_URL_SUFFIX) && value) {
      const name = key.slice(SUBGRAPH_URL_PREFIX.length, -SUBGRAPH_URL_SUFFIX.length).toLowerCase().replaceAll('_', '-');
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
    internalTokenSecret: parsed.INTERNAL_TOKEN_SECRET ?? developmentSecret(parsed.DATA_DIR, 'INTERNAL_TOKEN_SECRET'),
    jwtIssuer: parsed.JWT_ISSUER,
    jwtAudience: parsed.JWT_AUDIENCE,
    apiKeyCacheTtlSeconds: parsed.API_KEY_CACHE_TTL_SECONDS,
    corsOrigins: parsed.CORS_ORIGINS ?? (development ? ['*'] : []),
    sandboxEnabled: parsed.SANDBOX_ENABLED ?? development,
    trustProxy: parsed.TRUST_PROXY,
    maxBodyBytes: parsed.MAX_BODY_BYTES,
    subgraphTimeoutMs: parsed.SUBGRAPH_TIMEOUT_MS,
    subgraphUrls,
  };
}
