import { openSubgraphClient, type Database } from '@cap/db';
import { PrismaClient } from './generated/prisma/client.js';

/** Chat's PostgreSQL schema: every table it owns lives here, in either database mode. */
export const SCHEMA = 'chat';

/** Chat's committed migrations (Prisma layout), resolved from `src/` and `dist/` alike. */
export const MIGRATIONS_DIR = new URL('../prisma/migrations', import.meta.url).pathname;

/** Applies pending migrations, then returns a Prisma client bound to chat's schema. */
export function openChatDb(database: Database, options: { migrate: boolean }): Promise<PrismaClient> {
  return openSubgraphClient(
    database,
    { schema: SCHEMA, migrationsDir: MIGRATIONS_DIR, migrate: options.migrate },
    (clientOptions) => new PrismaClient(clientOptions),
  );
}
