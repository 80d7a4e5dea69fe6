/**
 * Structured data carried by each {@link DatabaseError} code. The code is the stable contract; messages are for
 * humans and may change.
 */
export interface DatabaseErrorDetails {
  /** `DATABASE_URL` (or a `postgres` target's `url`) is not a PostgreSQL connection URL. */
  INVALID_DATABASE_URL: { received: string };
  /** A schema name that is not a plain SQL identifier (letters, digits, `_`; at most 63 bytes). */
  INVALID_SCHEMA_NAME: { received: string };
  /** The database could not be reached, or `ping()` failed. */
  DATABASE_UNAVAILABLE: { kind: 'postgres' | 'pglite'; target: string };
  /** The {@link Database} was used after `close()`. */
  DATABASE_CLOSED: { kind: 'postgres' | 'pglite' };
  /** Another process holds the PGlite data directory (PGlite is single-process: sharing it corrupts it). */
  PGLITE_DATA_DIR_LOCKED: { dataDir: string; lockFile: string; pid: number };
  /** An embedded database of the old layout could not be moved into its folder, which holds other files. */
  PGLITE_RELOCATION_BLOCKED: { dataDir: string; staging: string };
  /** `migrationsDir` does not exist or is not a directory. */
  MIGRATIONS_DIR_NOT_FOUND: { migrationsDir: string };
  /** The migrations folder is not in Prisma's layout (`<name>/migration.sql`, provider `postgresql`). */
  MIGRATIONS_DIR_INVALID: { migrationsDir: string; problem: string };
  /** An applied migration's `migration.sql` was edited after it was applied. */
  MIGRATION_CHECKSUM_MISMATCH: { schema: string; migrations: string[] };
  /** The history holds a migration that started and never finished (e.g. a failed `prisma migrate deploy`). */
  MIGRATION_PREVIOUSLY_FAILED: { schema: string; migrations: string[] };
  /** A migration's SQL failed; its transaction was rolled back, so nothing of it was applied. */
  MIGRATION_FAILED: {
    schema: string;
    migration: string;
    /** 1-based line in `migration.sql` of the failing statement, when PostgreSQL reported a position. */
    line: number | undefined;
    /** PostgreSQL's SQLSTATE, e.g. `42P01`. */
    sqlState: string | undefined;
  };
  /** Waiting for the migration lock (another process migrating) took longer than allowed. */
  MIGRATION_LOCK_TIMEOUT: { schema: string; timeoutMs: number };
}

/** Every stable error code of `@cap/db`. */
export type DatabaseErrorCode = keyof DatabaseErrorDetails;

/** The codes as a runtime list, for documentation and exhaustive tests. */
export const DATABASE_ERROR_CODES = [
  'INVALID_DATABASE_URL',
  'INVALID_SCHEMA_NAME',
  'DATABASE_UNAVAILABLE',
  'DATABASE_CLOSED',
  'PGLITE_DATA_DIR_LOCKED',
  'PGLITE_RELOCATION_BLOCKED',
  'MIGRATIONS_DIR_NOT_FOUND',
  'MIGRATIONS_DIR_INVALID',
  'MIGRATION_CHECKSUM_MISMATCH',
  'MIGRATION_PREVIOUSLY_FAILED',
  'MIGRATION_FAILED',
  'MIGRATION_LOCK_TIMEOUT',
] as const satisfies readonly DatabaseErrorCode[];

/**
 * The one error type `@cap/db` throws for failures a caller or operator can act on. Check `code`, read `details`;
 * the underlying driver error, if any, is the standard `cause`.
 *
 * @example
 * ```ts
 * try { await db.migrate({ schema: 'identity', migrationsDir }); }
 * catch (error) {
 *   if (error instanceof DatabaseError && error.code === 'MIGRATION_FAILED') logger.error(error.details);
 *   throw error;
 * }
 * ```
 */
export class DatabaseError<C extends DatabaseErrorCode = DatabaseErrorCode> extends Error {
  override readonly name = 'DatabaseError';
  readonly code: C;
  readonly details: DatabaseErrorDetails[C];

  constructor(code: C, message: string, details: DatabaseErrorDetails[C], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** Narrows an unknown error to a {@link DatabaseError}, optionally of one code. */
  static is<K extends DatabaseErrorCode>(error: unknown, code?: K): error is DatabaseError<K> {
    return error instanceof DatabaseError && (code === undefined || error.code === code);
  }
}
