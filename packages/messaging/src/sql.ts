import type { Pool, PoolClient } from 'pg';
import { MessagingError, MessagingErrorCode } from './errors.js';

/**
 * The two things the outbox and consumers need from a database, kept this small so it is a few lines to
 * adapt Prisma (`$queryRawUnsafe` with `$1..$n`, interactive `$transaction`) or a pg pool.
 */
export interface SqlExecutor {
  /** Runs one statement with `$1..$n` parameters and returns its rows (empty for statements without rows). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it rejects (the rejection is
   * passed on). Every statement that must commit atomically goes through the `tx` it receives.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Quotes a PostgreSQL schema name for interpolation into SQL. Schema names cannot be bound as parameters,
 * so they are restricted to plain lower-case identifiers; anything else is refused, not escaped.
 * @throws {MessagingError} `OUTBOX_SCHEMA_NAME_INVALID`
 */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 63) {
    throw new MessagingError(
      MessagingErrorCode.SCHEMA_NAME_INVALID,
      `Invalid schema name ${JSON.stringify(schema)}: expected a lower-case identifier matching ${IDENTIFIER} (max 63 chars).`,
    );
  }
  return `"${schema}"`;
}

/**
 * A {@link SqlExecutor} over a node-postgres pool. `transaction` checks out one client for its duration;
 * a nested `transaction` on the `tx` becomes a savepoint, so a helper that opens its own transaction can
 * also run inside a caller's.
 */
export function pgExecutor(pool: Pool): SqlExecutor {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const result = await pool.query(sql, params);
      return result.rows as T[];
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        try {
          await client.query('BEGIN');
        } catch (error) {
          broken = error instanceof Error ? error : new Error(String(error));
          throw error;
        }
        try {
          const value = await fn(clientExecutor(client, 0));
          await client.query('COMMIT');
          return value;
        } catch (error) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackError) {
            // The connection is unusable (e.g. the server went away): destroy it rather than return it.
            broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          }
          throw error;
        }
      } finally {
        client.release(broken);
      }
    },
  };
}

function clientExecutor(client: PoolClient, depth: number): SqlExecutor {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const result = await client.query(sql, params);
      return result.rows as T[];
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const savepoint = `sp_${depth + 1}`;
      await client.query(`SAVEPOINT ${savepoint}`);
      try {
        const value = await fn(clientExecutor(client, depth + 1));
        await client.query(`RELEASE SAVEPOINT ${savepoint}`);
        return value;
      } catch (error) {
        await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw error;
      }
    },
  };
}
