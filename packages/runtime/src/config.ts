import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/**
 * Config helpers for each deployable's `config.ts`: one zod schema over the environment,
 * parsed once at start, failing fast with a message that names every bad variable.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly service: string,
    readonly issues: string[],
  ) {
    super(`Invalid configuration for ${service}:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** How a process ends when its configuration is invalid: 1, as for any failed start. */
export const CONFIG_ERROR_EXIT_CODE = 1;

/**
 * Runs a process's start-up step (`loadConfig`, or a whole start that loads its components' configuration) and,
 * when it throws a {@link ConfigError}, prints the list of bad variables to stderr and ends the process: an
 * operator fixes the environment, and a stack trace under the list would only bury it. Other errors pass through.
 */
export async function exitOnConfigError<T>(
  start: () => T | Promise<T>,
  exit: (code: number) => never = (code) => process.exit(code),
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr.write(`${error.message}\n`);
    return exit(CONFIG_ERROR_EXIT_CODE);
  }
}

/** Parses `env` with `schema`; throws a ConfigError listing every problem at once. */
export function parseEnv<T extends z.ZodType>(
  service: string,
  schema: T,
  env: Record<string, string | undefined>,
): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    const shown =
      got === undefined ? 'nothing' : JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}…` : got);
    return `${name}: ${issue.message} (got ${shown})`;
  });
  throw new ConfigError(service, issues);
}

/** `NODE_ENV`: development (default) enables generated secrets and the Sandbox; production requires them. */
export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');

/** A boolean from the environment: accepts true/false/1/0/yes/no. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/**
 * A decimal integer as the environment spells it: digits with an optional sign, surrounding blanks ignored. Anything
 * else stays a string and is refused by the number schema after it: `z.coerce.number()` would read an empty or blank
 * value as 0, `0x10` as 16, `1e3` as 1000 and `0b1` as 1, so a typo could silently become a working setting.
 */
const DECIMAL_INTEGER = /^\s*[+-]?\d+\s*$/;
const decimalInteger = (value: unknown) =>
  typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value;

/** An integer from the environment, `min` to `max` inclusive, written in decimal (see `DECIMAL_INTEGER`). */
export const envInt = (min: number, max: number) =>
  z.preprocess(decimalInteger, z.number().int().min(min).max(max));

const DECIMAL_NUMBER = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/;
const decimalNumber = (value: unknown) =>
  typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : value;

/** A number from the environment (e.g. `0.85`), `min` to `max` inclusive, written in decimal without an exponent. */
export const envDecimal = (min: number, max: number) =>
  z.preprocess(decimalNumber, z.number().min(min).max(max));

/** A TCP port number. */
export const port = envInt(0, 65_535);

/**
 * `PROCESSED_EVENTS_RETENTION_MS` of a subgraph that consumes events: how long its processed-event marks
 * (deduplication) are kept, ms, from a minute to a year, `defaultMs` unless set (`DEFAULT_PROCESSED_EVENTS_RETENTION_MS`
 * of `@cap/messaging`, which owns the purger). A cutoff in the purger's SQL, never a timer's delay, so it may exceed
 * the 24.8 days a timer can wait.
 */
export const processedEventsRetentionMs = (defaultMs: number) =>
  envInt(60_000, 31_536_000_000).default(defaultMs);

/** `LIVE_POLL_INTERVAL_MS` of a subgraph with a live bus: how often its subscribers read the database while Redis is unreachable, ms (50 to 60,000, default 1,000). */
export const livePollIntervalMs = envInt(50, 60_000).default(1_000);

/** A comma-separated list. */
export const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** Log level for pino. */
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/**
 * The variables every subgraph reads, with the same meaning everywhere (docs/adding-a-subgraph.md §2): spread
 * into a subgraph's own `z.object({...})` before its own variables. Subgraph-specific notes on these variables
 * (what Redis carries there, for example) belong in that subgraph's README.
 */
export function subgraphEnvShape(defaultPort: number) {
  return {
    NODE_ENV: nodeEnv,
    /** Interface to bind; 0.0.0.0 in containers. */
    HOST: z.string().default('127.0.0.1'),
    /** HTTP port (0 picks a free one). */
    PORT: port.default(defaultPort),
    LOG_LEVEL: logLevel,
    /** Where embedded data and development secrets live (default `.data`). */
    DATA_DIR: z.string().default('.data'),
    /** PostgreSQL URL; unset = embedded PostgreSQL (PGlite) under DATA_DIR. */
    DATABASE_URL: z.string().url().optional(),
    /** Pooled PostgreSQL connections per subgraph (default 10; ignored on PGlite). */
    DATABASE_POOL_SIZE: envInt(1, 200).optional(),
    /** How long a transaction waits for a connection before DATABASE_BUSY, ms (default 2,000; 30,000 on PGlite). */
    DATABASE_TRANSACTION_MAX_WAIT_MS: envInt(1, 600_000).optional(),
    /** Redis URL; unset = in-memory (one instance). */
    REDIS_URL: z.string().url().optional(),
    /** Kafka brokers (comma-separated host:port); unset = in-memory event bus. */
    KAFKA_BROKERS: commaList.optional(),
    /** Shared with the router; verifies router-signed identity tokens. >= 32 characters. */
    INTERNAL_TOKEN_SECRET: z.string().min(32).optional(),
    /** Run migrations at start (default true). */
    MIGRATE_ON_START: envBoolean.default(true),
  };
}

/**
 * Reads (or on first use creates) a random development secret persisted under `dataDir`, so tokens stay valid
 * across restarts in development. Never used when NODE_ENV=production: config schemas require the variable.
 */
export function developmentSecret(dataDir: string, name: string): string {
  const file = join(dataDir, 'secrets.json');
  let secrets: Record<string, string> = {};
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    // No file yet: created below.
  }
  const existing = secrets[name];
  if (existing) return existing;
  const created = randomBytes(32).toString('base64url');
  secrets[name] = created;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return created;
}

/**
 * The parsed environment with each secret of `names` that is unset filled in with its {@link developmentSecret}
 * (kept under DATA_DIR): what every subgraph's `loadConfig` does for INTERNAL_TOKEN_SECRET and its own secrets.
 */
export function withDevelopmentSecrets<TEnv extends { DATA_DIR: string }, TName extends keyof TEnv & string>(
  env: TEnv,
  names: readonly TName[],
): Omit<TEnv, TName> & { [P in TName]: string } {
  const secrets: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    secrets[name] = typeof value === 'string' ? value : developmentSecret(env.DATA_DIR, name);
  }
  return { ...env, ...secrets } as Omit<TEnv, TName> & { [P in TName]: string };
}
