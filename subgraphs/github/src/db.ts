import type { Database } from '@cap/db';
import { PrismaClient } from './generated/prisma/client.js';

/** The github subgraph's PostgreSQL schema: every table it owns lives here, in either database mode. */
export const SCHEMA = 'github';

/** Committed migrations (Prisma layout), resolved from `src/` and `dist/` alike. */
export const MIGRATIONS_DIR = new URL('../prisma/migrations', import.meta.url).pathname;

/** Applies pending migrations, then returns a Prisma client bound to the github schema. */
export async function openGithubDb(database: Database, options: { migrate: boolean }): Promise<PrismaClient> {
  if (options.migrate) await database.migrate({ schema: SCHEMA, migrationsDir: MIGRATIONS_DIR });
  return new PrismaClient({
    adapter: database.adapterFor(SCHEMA),
    transactionOptions: database.transactionOptions,
  });
}
