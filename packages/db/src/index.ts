export type {
  Database,
  DatabaseLogger,
  DatabaseTarget,
  MigrateOptions,
  OpenDatabaseOptions,
  SqlDriverAdapterFactory,
} from './Database.js';
export { DATABASE_ERROR_CODES, DatabaseError } from './DatabaseError.js';
export type { DatabaseErrorCode, DatabaseErrorDetails } from './DatabaseError.js';
export { databaseTargetFromEnv } from './databaseTargetFromEnv.js';
export { openDatabase } from './openDatabase.js';
export { checksumMatches, migrationChecksum, readMigrations } from './readMigrations.js';
export type { MigrationFile } from './readMigrations.js';
export { prismaExecutor, type PrismaSqlExecutor } from './prismaExecutor.js';
export { isPgliteEntry, relocateLegacyPglite } from './relocateLegacyPglite.js';
export { PGLITE_FOLDER } from './databaseTargetFromEnv.js';
export * from './openSubgraphClient.js';
