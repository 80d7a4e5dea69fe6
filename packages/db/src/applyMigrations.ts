import { randomUUID } from 'node:crypto';
import type { DatabaseLogger, MigrateOptions } from './Database.js';
import { DatabaseError } from './DatabaseError.js';
import { type MigrationFile, checksumMatches, readMigrations } from './readMigrations.js';
import { quoteSchemaName } from './schemaName.js';

/** SQL access the migration runner needs; implemented over `pg` and over PGlite. */
export interface MigrationSql {
  /** One statement with `$n` parameters. */
  query<R extends object>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A whole multi-statement script, unsplit (so `$$` bodies and `;` inside strings survive). */
  exec(script: string): Promise<void>;
}

/** A session holding the migration lock. */
export interface MigrationSession extends MigrationSql {
  /** Runs `fn` in one transaction on this session: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: MigrationSql) => Promise<T>): Promise<T>;
}

/** How one kind of database serializes migrations. */
export interface MigrationBackend {
  /**
   * Runs `fn` on a session while holding the lock that keeps two migrators (processes, or calls in this process)
   * from applying the same migration twice.
   */
  withMigrationLock<T>(schema: string, fn: (session: MigrationSession) => Promise<T>): Promise<T>;
}

interface HistoryRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished: boolean;
  rolled_back: boolean;
}

/**
 * Applies the pending migrations of `migrationsDir` into `schema`, recording them as Prisma Migrate does.
 * See {@link Database.migrate} for the contract.
 */
export async function applyMigrations(
  backend: MigrationBackend,
  { schema, migrationsDir }: MigrateOptions,
  logger: DatabaseLogger | undefined,
): Promise<{ applied: string[] }> {
  const quoted = quoteSchemaName(schema);
  const history = `${quoted}."_prisma_migrations"`;
  // Read the files before taking the lock: a broken folder should fail fast without blocking other processes.
  const migrations = await readMigrations(migrationsDir);

  return backend.withMigrationLock(schema, async (session) => {
    await ensureHistoryTable(session, schema, quoted);
    const rows = await session.query<HistoryRow>(
      `SELECT id, checksum, migration_name, finished_at IS NOT NULL AS finished,
              rolled_back_at IS NOT NULL AS rolled_back
         FROM ${history} ORDER BY started_at, migration_name`,
    );
    const pending = planMigrations(schema, migrations, rows, logger);

    const applied: string[] = [];
    for (const migration of pending) {
      const started = performance.now();
      await applyOne(session, schema, quoted, history, migration);
      const durationMs = Math.round(performance.now() - started);
      logger?.info({ schema, migration: migration.name, durationMs }, 'migration applied');
      applied.push(migration.name);
    }
    if (applied.length > 0) logger?.info({ schema, applied }, 'migrations applied');
    return { applied };
  });
}

/**
 * Creates the schema and Prisma's history table when missing, with Prisma's exact DDL so the stock CLI reads and
 * writes the same table. Existence is checked first: `CREATE SCHEMA IF NOT EXISTS` still demands the CREATE
 * privilege on the database, which a least-privileged runtime role may lack once the schema exists.
 */
async function ensureHistoryTable(session: MigrationSql, schema: string, quoted: string): Promise<void> {
  const [found] = await session.query<{ has_schema: boolean; has_table: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS has_schema,
            to_regclass($2) IS NOT NULL AS has_table`,
    [schema, `${quoted}."_prisma_migrations"`],
  );
  if (found?.has_table) return;
  await session.exec(`
    ${found?.has_schema ? '' : `CREATE SCHEMA IF NOT EXISTS ${quoted};`}
    CREATE TABLE IF NOT EXISTS ${quoted}."_prisma_migrations" (
        "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum"              VARCHAR(64) NOT NULL,
        "finished_at"           TIMESTAMPTZ,
        "migration_name"        VARCHAR(255) NOT NULL,
        "logs"                  TEXT,
        "rolled_back_at"        TIMESTAMPTZ,
        "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
    );`);
}

/**
 * Compares the folder with the recorded history and returns what to apply, refusing to go on when the history
 * says something went wrong. Rolled-back rows are ignored, as Prisma ignores them.
 */
function planMigrations(
  schema: string,
  migrations: readonly MigrationFile[],
  rows: readonly HistoryRow[],
  logger: DatabaseLogger | undefined,
): MigrationFile[] {
  const live = rows.filter((row) => !row.rolled_back);

  const failed = live.filter((row) => !row.finished).map((row) => row.migration_name);
  if (failed.length > 0) {
    throw new DatabaseError(
      'MIGRATION_PREVIOUSLY_FAILED',
      `Schema "${schema}" has migrations that started and never finished: ${failed.join(', ')}. ` +
        'Inspect the database, then mark each one with `prisma migrate resolve --rolled-back <name>` ' +
        '(after undoing it) or `--applied <name>` (after completing it).',
      { schema, migrations: failed },
    );
  }

  const appliedByName = new Map(live.map((row) => [row.migration_name, row]));
  const edited = migrations
    .filter((migration) => {
      const row = appliedByName.get(migration.name);
      return row !== undefined && !checksumMatches(migration.script, row.checksum);
    })
    .map((migration) => migration.name);
  if (edited.length > 0) {
    throw new DatabaseError(
      'MIGRATION_CHECKSUM_MISMATCH',
      `Schema "${schema}": migration.sql of already applied migrations changed since they were applied: ` +
        `${edited.join(', ')}. Restore the applied version and put the change in a new migration.`,
      { schema, migrations: edited },
    );
  }

  const local = new Set(migrations.map((migration) => migration.name));
  const unknown = [...appliedByName.keys()].filter((name) => !local.has(name));
  if (unknown.length > 0) {
    // A newer release already migrated this database (e.g. during a rollback of the code). Prisma's deploy goes
    // on in that case, and so do we: the old code may still work against the newer schema.
    logger?.warn(
      { schema, migrations: unknown },
      'applied migrations are missing from the migrations folder',
    );
  }

  return migrations.filter((migration) => !appliedByName.has(migration.name));
}

async function applyOne(
  session: MigrationSession,
  schema: string,
  quoted: string,
  history: string,
  migration: MigrationFile,
): Promise<void> {
  const id = randomUUID();
  await session.transaction(async (tx) => {
    // What Prisma's CLI does with `?schema=`: migrations it generates leave names unqualified.
    await tx.exec(`SET LOCAL search_path TO ${quoted}`);
    await tx.query(
      `INSERT INTO ${history} (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [id, migration.checksum, migration.name],
    );
    try {
      await tx.exec(migration.script);
    } catch (error) {
      throw migrationFailed(schema, migration, error);
    }
    await tx.query(
      `UPDATE ${history} SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
  });
  // A script may `SET search_path` for the session; on PGlite that session is every subgraph's.
  await session.exec('RESET search_path');
}

function migrationFailed(
  schema: string,
  migration: MigrationFile,
  error: unknown,
): DatabaseError<'MIGRATION_FAILED'> {
  const pgError = (error ?? {}) as { message?: string; code?: string; position?: string | number };
  const position = Number(pgError.position);
  const line =
    Number.isInteger(position) && position > 0
      ? migration.script.slice(0, position - 1).split('\n').length
      : undefined;
  const sqlState = typeof pgError.code === 'string' ? pgError.code : undefined;
  const where = line === undefined ? '' : ` at line ${line}`;
  return new DatabaseError(
    'MIGRATION_FAILED',
    `Migration ${migration.name} failed in schema "${schema}"${where}: ${pgError.message ?? String(error)}` +
      `${sqlState ? ` (SQLSTATE ${sqlState})` : ''}. It ran in one transaction, so none of it was applied and ` +
      'it is not recorded; fix migration.sql and start again.',
    { schema, migration: migration.name, line, sqlState },
    { cause: error },
  );
}
