import { openSubgraphClient, type Database } from '@cap/db';
import { PrismaClient } from './generated/prisma/client.js';

/** Identity's PostgreSQL schema: every table it owns lives here, in either database mode. */
export const SCHEMA = 'identity';

/** Identity's committed migrations (Prisma layout), resolved from `src/` and `dist/` alike. */
export const MIGRATIONS_DIR = new URL('../prisma/migrations', import.meta.url).pathname;

/** Applies pending migrations, then returns a Prisma client bound to identity's schema. */
export function openIdentityDb(database: Database, options: { migrate: boolean }): Promise<PrismaClient> {
  return openSubgraphClient(
    database,
    { schema: SCHEMA, migrationsDir: MIGRATIONS_DIR, migrate: options.migrate },
    (clientOptions) => new PrismaClient(clientOptions),
  );
}
