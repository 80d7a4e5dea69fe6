import { envInt, parseEnv, subgraphEnvShape, withDevelopmentSecrets } from '@cap/runtime';
import { z } from 'zod';

/**
 * Identity's configuration: the only place that reads the environment (docs/CONVENTIONS.md §11). In development every
 * secret is generated once and kept under DATA_DIR; in production each must be set.
 */
const schema = z
  .object({
    ...subgraphEnvShape(4001),
    /** Encrypts the private signing keys stored in the database. >= 32 characters. */
    SIGNING_KEY_SECRET: z.string().min(32).optional(),
    /** `iss` of access tokens. */
    JWT_ISSUER: z.string().min(1).default('cap-identity'),
    /** `aud` of access tokens; the router accepts only this audience. */
    JWT_AUDIENCE: z.string().min(1).default('cap-router'),
    /** Access-token lifetime, seconds (default 900 = 15 minutes). */
    ACCESS_TOKEN_TTL_SECONDS: envInt(30, 86_400).default(900),
    /**
     * Refresh-token lifetime, seconds (300 to 31,536,000 = a year, default 2,592,000 = 30 days). Stored as an expiry
     * date, never handed to a timer, so it may exceed the 24.8 days a timer can wait.
     */
    REFRESH_TOKEN_TTL_SECONDS: envInt(300, 31_536_000).default(2_592_000),
    /** Login attempts allowed per client address per minute (1 to 1,000,000, default 10). */
    LOGIN_ATTEMPTS_PER_MINUTE: envInt(1, 1_000_000).default(10),
    /** `refreshSession` calls allowed per client address per minute (1 to 1,000,000, default 60; offices share an address). */
    REFRESH_SESSION_ATTEMPTS_PER_MINUTE: envInt(1, 1_000_000).default(60),
    /** `createApiKey` calls allowed per client address per minute (1 to 1,000,000, default 10). */
    CREATE_API_KEY_ATTEMPTS_PER_MINUTE: envInt(1, 1_000_000).default(10),
    /**
     * While Redis is unreachable: `open` (default) counts the per-address limits above in each instance's memory,
     * `closed` refuses those operations with RATE_LIMITER_UNAVAILABLE.
     */
    RATE_LIMIT_FAILURE_MODE: z.enum(['open', 'closed']).default('open'),
    /** First admin's email; required in production when no user exists yet. */
    ADMIN_EMAIL: z.string().email().optional(),
    /** First admin's password; required in production when no user exists yet. */
    ADMIN_PASSWORD: z.string().min(12).max(1024).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== 'production') return;
    for (const name of ['INTERNAL_TOKEN_SECRET', 'SIGNING_KEY_SECRET', 'DATABASE_URL'] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
    }
  });

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const identityEnvSchema = schema;

export type IdentityConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in persisted generated secrets. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('identity', schema, env));
}

function resolveConfig(env: z.output<typeof schema>) {
  return withDevelopmentSecrets(env, ['INTERNAL_TOKEN_SECRET', 'SIGNING_KEY_SECRET']);
}
