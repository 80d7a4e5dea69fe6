import { randomBytes } from 'node:crypto';
import { type Database, openDatabase } from '@cap/db';
import pg from 'pg';

/** Where test databases are created when `TEST_DATABASE_URL` is not set. */
const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, uniquely named PostgreSQL database that a test owns, dropped on dispose. */
export interface TestDatabase {
  /** Connection URL of the fresh database. */
  readonly url: string;
  /** The database opened through `@cap/db` (so tests migrate and build Prisma clients as production does). */
  readonly database: Database;
  /** Closes {@link database} and drops the database, even if sessions are still connected. Idempotent. */
  drop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a uniquely named database on the PostgreSQL server of `TEST_DATABASE_URL` (default
 * `postgres://postgres@127.0.0.1:5432/postgres`), for one test file or test. Real PostgreSQL, no mocks.
 *
 * @example
 * ```ts
 * await using db = await createTestDatabase();
 * await db.database.migrate({ schema: 'identity', migrationsDir });
 * ```
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env['TEST_DATABASE_URL'] || DEFAULT_TEST_DATABASE_URL;
  // Lowercase letters, digits and "_" only, so the name needs no quoting anywhere and sorts by creation time.
  const name = `test_${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let database: Database;
  try {
    database = await openDatabase({ kind: 'postgres', url: url.toString() });
  } catch (error) {
    await onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    throw error;
  }

  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> =>
    (dropping ??= (async () => {
      await database.close();
      // FORCE: Prisma clients a test forgot to disconnect must not keep the database alive.
      await onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    })());

  return { url: url.toString(), database, drop, [Symbol.asyncDispose]: drop };
}

async function onServer<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
