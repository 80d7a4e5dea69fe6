import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { outboxDdl, pgExecutor, type SqlExecutor } from '../src/index.js';

/** The test PostgreSQL server; trust auth on the dev machine and in CI. */
export const DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestSchema {
  pool: pg.Pool;
  sql: SqlExecutor;
  schema: string;
  /** Drops the schema and closes the pool. */
  dispose(): Promise<void>;
}

/**
 * A fresh schema with the outbox tables (from the same DDL subgraph migrations use) plus an `applied`
 * table consumers in tests write their side effects to. Deliberately without a unique constraint: a
 * duplicate application must show up as a second row, not be hidden by the database.
 */
export async function createTestSchema(prefix = 'msg'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(outboxDdl(schema));
  await pool.query(
    `CREATE TABLE "${schema}"."applied" (event_id uuid NOT NULL, aggregate_id text NOT NULL, seq int, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
  return {
    pool,
    sql: pgExecutor(pool),
    schema,
    async dispose() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** The test kit's polling helper, which these tests have always imported from here. */
export { waitFor } from '@cap/testkit';

/** A logger that keeps entries, to assert on what an operator would see. */
export function recordingLogger(): {
  entries: { level: string; msg: string | undefined; obj: object }[];
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
} {
  const entries: { level: string; msg: string | undefined; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, msg, obj });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
