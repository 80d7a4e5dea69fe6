import type { SqlDriverAdapterFactory } from '@prisma/client/runtime/client';

export type { SqlDriverAdapterFactory };

/**
 * Where a process keeps its data.
 *
 * - `postgres`: a PostgreSQL server, e.g. `postgres://postgres@127.0.0.1:5432/app`. All subgraphs may share one
 *   database; each owns one schema in it.
 * - `pglite`: PostgreSQL compiled to WebAssembly, in this process. `dataDir` is where it persists (e.g.
 *   `.data/pglite`, its own folder); `null` keeps everything in memory (tests).
 */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string }
  | {
      kind: 'pglite';
      dataDir: string | null;
      /**
       * Where an older layout kept this database (directly in the data folder); if it is still there, it is moved
       * into `dataDir` once when the database opens (see `relocateLegacyPglite`).
       */
      legacyDataDir?: string;
    };

/** The slice of a pino logger `@cap/db` writes to. */
export interface DatabaseLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Receives migration progress and warnings. Default: silent. */
  logger?: DatabaseLogger | undefined;
  /**
   * Connections per `adapterFor()` factory, i.e. per PrismaClient, on `postgres` (ignored on `pglite`, which has
   * one session). Default `10`.
   */
  poolSize?: number | undefined;
  /**
   * How long a transaction may wait to start (for a pooled connection, or PGlite's one session) before Prisma
   * refuses it (P2028, which subgraphs answer with DATABASE_BUSY), in milliseconds: the `maxWait` of
   * {@link Database.transactionOptions}. Default `2_000` on `postgres` (Prisma's), `30_000` on `pglite`.
   */
  transactionMaxWaitMs?: number | undefined;
  /**
   * How long `migrate()` waits for another process's migration to finish before failing with
   * `MIGRATION_LOCK_TIMEOUT`, in milliseconds. Default `60_000`.
   */
  migrationLockTimeoutMs?: number | undefined;
}

/** Options of {@link Database.migrate}. */
export interface MigrateOptions {
  /** The PostgreSQL schema the subgraph owns, e.g. `identity`. Its history is `"<schema>"."_prisma_migrations"`. */
  schema: string;
  /** A Prisma migrations folder: `<migrationsDir>/<timestamp>_<name>/migration.sql`. */
  migrationsDir: string;
}

/**
 * One open database, shared by every subgraph of the process. Open it once with {@link openDatabase}, give each
 * subgraph `adapterFor('<its schema>')`, close it last.
 */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Transaction limits to give every PrismaClient built on this database:
   * `new PrismaClient({ adapter: db.adapterFor('identity'), transactionOptions: db.transactionOptions })`.
   * On PostgreSQL these are Prisma's defaults. On PGlite every transaction of every subgraph queues for the one
   * session, so under load waiting to start takes longer than Prisma's default `maxWait` (2 s) and transactions
   * would fail with P2028 ("Unable to start a transaction in the given time"); `maxWait` is raised to 30 s.
   */
  readonly transactionOptions: { readonly maxWait: number; readonly timeout: number };
  /**
   * A Prisma driver-adapter factory bound to one PostgreSQL schema (e.g. `'identity'`), for
   * `new PrismaClient({ adapter })`. Models must also carry `@@schema("<schema>")` (see packages/db/README.md):
   * on PGlite every client shares one session, so `search_path` cannot tell subgraphs apart.
   */
  adapterFor(schema: string): SqlDriverAdapterFactory;
  /**
   * Applies pending migrations from a Prisma migrations folder into `schema`: idempotent, safe when several
   * processes start at once (advisory lock on PostgreSQL), recorded in `"<schema>"."_prisma_migrations"` with the
   * columns and checksums Prisma's CLI writes, so `prisma migrate status` agrees. Each migration runs as one
   * transaction: a failing one leaves nothing behind.
   *
   * @returns the names of the migrations applied by this call, in order.
   * @throws {DatabaseError} `MIGRATION_CHECKSUM_MISMATCH` when an applied migration's file changed,
   *   `MIGRATION_PREVIOUSLY_FAILED` when the history holds an unfinished migration, `MIGRATION_FAILED` when a
   *   migration's SQL fails, `MIGRATION_LOCK_TIMEOUT`, `MIGRATIONS_DIR_NOT_FOUND`, `MIGRATIONS_DIR_INVALID`,
   *   `INVALID_SCHEMA_NAME`.
   */
  migrate(options: MigrateOptions): Promise<{ applied: string[] }>;
  /**
   * Health probe: runs `SELECT 1`.
   * @returns the round trip in milliseconds.
   * @throws {DatabaseError} `DATABASE_UNAVAILABLE` or `DATABASE_CLOSED`.
   */
  ping(): Promise<number>;
  /**
   * Releases what the Database holds (its own pool, or its share of the PGlite instance). Disconnect the
   * PrismaClients built on `adapterFor()` first. Idempotent.
   */
  close(): Promise<void>;
}
