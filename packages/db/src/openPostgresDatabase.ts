import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Database, MigrateOptions, OpenDatabaseOptions, SqlDriverAdapterFactory } from './Database.js';
import { DatabaseError } from './DatabaseError.js';
import { type MigrationBackend, type MigrationSession, applyMigrations } from './applyMigrations.js';
import { parseDatabaseUrl, redactUrl } from './databaseUrl.js';
import { quoteSchemaName } from './schemaName.js';

/**
 * The advisory lock key Prisma Migrate takes (`SELECT pg_advisory_lock(72707369)`). Taking the same one makes
 * our runner and a concurrent `prisma migrate deploy` exclude each other too. It is database-wide, not per schema:
 * subgraphs starting together migrate one after the other, which costs milliseconds.
 */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;
/** SQLSTATE `lock_not_available`: `lock_timeout` expired. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Prisma's own interactive-transaction defaults: PostgreSQL has real concurrency, nothing to adjust. */
const PRISMA_DEFAULT_MAX_WAIT_MS = 2_000;
const PRISMA_DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_POOL_SIZE = 10;
const DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 60_000;
/** How long connecting may take before `ping()`/`migrate()` fail instead of hanging on an unreachable host. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Opens a PostgreSQL-backed {@link Database}; fails fast with `DATABASE_UNAVAILABLE` if it cannot connect. */
export async function openPostgresDatabase(
  url: string,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  const { logger } = options;
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  const lockTimeoutMs = options.migrationLockTimeoutMs ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_MS;
  const parsed = parseDatabaseUrl(url);
  if (parsed.searchParams.has('schema')) {
    // Prisma CLI syntax; at run time each subgraph chooses its schema through adapterFor().
    parsed.searchParams.delete('schema');
    logger?.warn(
      { url: redactUrl(url) },
      'ignoring ?schema= in the database URL: adapterFor(schema) selects it',
    );
  }
  const connectionString = parsed.toString();
  const target = redactUrl(connectionString);

  // The Database's own small pool, for migrations and health checks; Prisma clients get theirs from adapterFor().
  const pool = new pg.Pool({ connectionString, max: 3, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (error) => logger?.warn({ err: error, target }, 'idle PostgreSQL connection failed'));
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new DatabaseError('DATABASE_CLOSED', 'The database was closed.', { kind: 'postgres' });
  };

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      throw unavailable(target, error);
    }
  };

  const backend: MigrationBackend = {
    async withMigrationLock(schema, fn) {
      const client = await connect();
      let failed = false;
      try {
        await lockMigrations(client, schema, lockTimeoutMs);
        try {
          return await fn(sessionOf(client));
        } finally {
          // Best effort: if the session is broken, discarding it below releases the lock anyway, and the
          // original error is the one worth reporting.
          await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]).catch(() => {
            failed = true;
          });
        }
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // After a failure the session may hold anything (an aborted transaction, the lock): discard it, which
        // also releases a session-level advisory lock server-side.
        client.release(failed);
      }
    },
  };

  const database: Database = {
    kind: 'postgres',
    transactionOptions: {
      maxWait: options.transactionMaxWaitMs ?? PRISMA_DEFAULT_MAX_WAIT_MS,
      timeout: PRISMA_DEFAULT_TIMEOUT_MS,
    },
    adapterFor(schema: string): SqlDriverAdapterFactory {
      assertOpen();
      quoteSchemaName(schema);
      return new PrismaPg(
        { connectionString, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
        {
          schema,
          onPoolError: (error) => logger?.warn({ err: error, schema }, 'idle PostgreSQL connection failed'),
        },
      );
    },
    async migrate(migrateOptions: MigrateOptions) {
      assertOpen();
      return applyMigrations(backend, migrateOptions, logger);
    },
    async ping() {
      assertOpen();
      const started = performance.now();
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        throw unavailable(target, error);
      }
      return performance.now() - started;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };

  try {
    await database.ping();
  } catch (error) {
    await pool.end();
    throw error;
  }
  return database;
}

async function lockMigrations(client: pg.PoolClient, schema: string, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for the advisory lock too; it is reset so migrations themselves are not bound.
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  } catch (error) {
    if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
      throw new DatabaseError(
        'MIGRATION_LOCK_TIMEOUT',
        `Timed out after ${timeoutMs} ms waiting for another process's migrations (advisory lock ` +
          `${PRISMA_MIGRATE_LOCK_KEY}) before migrating schema "${schema}".`,
        { schema, timeoutMs },
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query('RESET lock_timeout');
  }
}

function sessionOf(client: pg.PoolClient): MigrationSession {
  const session: MigrationSession = {
    async query<R extends object>(sql: string, params?: unknown[]) {
      return (await client.query<R>(sql, params)).rows;
    },
    async exec(script: string) {
      // Without parameters pg uses the simple query protocol, which accepts a multi-statement script.
      await client.query(script);
    },
    async transaction(fn) {
      await client.query('BEGIN');
      try {
        const result = await fn(session);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // If even ROLLBACK fails the connection is gone; the caller discards it. Report the first error.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
  };
  return session;
}

function unavailable(target: string, error: unknown): DatabaseError<'DATABASE_UNAVAILABLE'> {
  const reason = error instanceof Error ? error.message : String(error);
  return new DatabaseError(
    'DATABASE_UNAVAILABLE',
    `PostgreSQL at ${target} is unavailable: ${reason}`,
    {
      kind: 'postgres',
      target,
    },
    { cause: error },
  );
}
