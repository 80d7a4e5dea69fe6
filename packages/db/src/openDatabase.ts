import type { Database, DatabaseTarget, OpenDatabaseOptions } from './Database.js';
import { openPgliteDatabase } from './openPgliteDatabase.js';
import { openPostgresDatabase } from './openPostgresDatabase.js';

/**
 * Opens the process's database: PostgreSQL, or the embedded PGlite (one instance per data directory per
 * process, shared by every Database opened on it).
 *
 * @example
 * ```ts
 * const db = await openDatabase(databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: '.data/pglite' }), { logger });
 * await db.migrate({ schema: 'identity', migrationsDir: new URL('../prisma/migrations', import.meta.url).pathname });
 * const prisma = new PrismaClient({ adapter: db.adapterFor('identity') });
 * ```
 * @throws {DatabaseError} `DATABASE_UNAVAILABLE`, `INVALID_DATABASE_URL`, `PGLITE_DATA_DIR_LOCKED`.
 */
export function openDatabase(target: DatabaseTarget, options?: OpenDatabaseOptions): Promise<Database> {
  switch (target.kind) {
    case 'postgres':
      return openPostgresDatabase(target.url, options);
    case 'pglite':
      return openPgliteDatabase(target.dataDir, options, target.legacyDataDir);
  }
}
