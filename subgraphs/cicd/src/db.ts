import type { Database } from '@cap/db';
import { PrismaClient } from './generated/prisma/client.js';

/** Cicd's PostgreSQL schema: every table it owns lives here, in either database mode. */
export const SCHEMA = 'cicd';

/** Cicd's committed migrations (Prisma layout), resolved from `src/` and `dist/` alike. */
export const MIGRATIONS_DIR = new URL('../prisma/migrations', import.meta.url).pathname;

/** Applies pending migrations, then returns a Prisma client bound to cicd's schema. */
export async function openCicdDb(database: Database, options: { migrate: boolean }): Promise<PrismaClient> {
  if (options.migrate) await database.migrate({ schema: SCHEMA, migrationsDir: MIGRATIONS_DIR });
  // Embedded PostgreSQL has one session: transactions queue, so their start may wait longer there.
  return new PrismaClient({
    adapter: database.adapterFor(SCHEMA),
    transactionOptions: database.transactionOptions,
  });
}
