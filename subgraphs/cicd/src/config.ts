import { envInt, livePollIntervalMs, parseEnv, subgraphEnvShape, withDevelopmentSecrets } from '@cap/runtime';
import { z } from 'zod';

/**
 * The cicd subgraph's configuration: the only place that reads the environment (docs/CONVENTIONS.md §11). In
 * development the shared secret is generated once and kept under DATA_DIR; in production it must be set.
 */
const schema = z
  .object({
    ...subgraphEnvShape(4006),
    /** Prefix of the live channels on Redis (build changes), so environments can share one Redis (default `cap:cicd:`). */
    LIVE_CHANNEL_PREFIX: z.string().max(100).default('cap:cicd:'),
    /** While Redis is unreachable, how often `buildStatusChanged` subscribers read the database instead, ms (default 1000). */
    LIVE_POLL_INTERVAL_MS: livePollIntervalMs,
    /** GitHub REST base URL (default GitHub's; GitHub Enterprise Server: `https://<host>/api/v3`). */
    GITHUB_API_URL: z.string().url().default('https://api.github.com'),
    /**
     * The github subgraph's base URL: repository tokens are asked from it (the custodian of GitHub credentials).
     * Unset = GITHUB_TOKEN is used for every repository.
     */
    GITHUB_SUBGRAPH_URL: z.string().url().optional(),
    /** A token that reads Actions runs and logs, when no github subgraph is configured. */
    GITHUB_TOKEN: z.string().min(1).optional(),
    /** Safety-net polling of the Actions API per repository with a fix policy, ms (default 60,000; 0 = off). */
    CI_POLL_INTERVAL_MS: envInt(0, 86_400_000).default(60_000),
    /** Largest job log downloaded and parsed, bytes (default 50 MiB). */
    CI_LOG_MAX_BYTES: envInt(1_024, 1_073_741_824).default(52_428_800),
    /** Jobs of one failed run whose logs are fetched (default 20). */
    CI_MAX_JOBS_PER_RUN: envInt(1, 200).default(20),
    /**
     * How long an instance's claim on a failed build's logs lasts before another instance may take the build, ms
     * (default 120,000). The holder renews it every third of that while it downloads, so this bounds how long the
     * builds of an instance that died wait, not how long a download may take.
     */
    CICD_LOG_CLAIM_TTL_MS: envInt(1_000, 3_600_000).default(120_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== 'production') return;
    for (const name of ['INTERNAL_TOKEN_SECRET', 'DATABASE_URL'] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
    }
  });

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const cicdEnvSchema = schema;

export type CicdConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in the persisted generated secret. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('cicd', schema, env));
}

function resolveConfig(env: z.output<typeof schema>) {
  return withDevelopmentSecrets(env, ['INTERNAL_TOKEN_SECRET']);
}
