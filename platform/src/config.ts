import { commaList, envInt, logLevel, nodeEnv, parseEnv, port } from '@cap/runtime';
import { z } from 'zod';

/**
 * The all-in-one launcher's own settings. Each subgraph and the router still parse their own configuration
 * from the same environment; the launcher only forces what one process needs (ephemeral loopback ports for
 * subgraphs, the router pointed at them) and gives orchestration one-process defaults (see platform.ts).
 */
const schema = z.object({
  NODE_ENV: nodeEnv,
  /** Interface the router binds (default 127.0.0.1). Subgraphs always bind loopback in this mode. */
  HOST: z.string().default('127.0.0.1'),
  /** Router port (default 4000). */
  PORT: port.default(4000),
  LOG_LEVEL: logLevel,
  /** Embedded data (PGlite) and development secrets (default `.data`). */
  DATA_DIR: z.string().default('.data'),
  /** PostgreSQL URL; unset = embedded PostgreSQL (PGlite) under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Pooled PostgreSQL connections per subgraph (default 10; ignored on PGlite). */
  DATABASE_POOL_SIZE: envInt(1, 200).optional(),
  /** How long a transaction waits for a connection before DATABASE_BUSY, ms (default 2,000; 30,000 on PGlite). */
  DATABASE_TRANSACTION_MAX_WAIT_MS: envInt(1, 600_000).optional(),
  /** Redis URL; unset = in-memory caches and throttles. */
  REDIS_URL: z.string().url().optional(),
  /** Kafka brokers; unset = in-memory event bus. */
  KAFKA_BROKERS: commaList.optional(),
  /**
   * Orchestration's own setting, read here too: at shutdown, running task executions get this long to finish
   * before they are handed back to the queue, ms (default 10_000). The launcher waits that long plus 15 s.
   */
  SHUTDOWN_GRACE_MS: envInt(0, 3_600_000).default(10_000),
  /**
   * Orchestration's own setting, read here too (the launcher says at start where task commands run): `bwrap`
   * (default) runs them in the bubblewrap sandbox, `none` unsandboxed as your user (unsafe). Passed through
   * unchanged with the rest of the environment.
   */
  COMMAND_SANDBOX: z.enum(['bwrap', 'none']).default('bwrap'),
});

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const platformEnvSchema = schema;

export type PlatformConfig = z.output<typeof schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): PlatformConfig {
  return parseEnv('platform', schema, env);
}

/** The environment as the launcher hands it to each component's own config loader. */
export function componentEnv(): Record<string, string | undefined> {
  return { ...process.env };
}
