import { join } from 'node:path';
import type { DatabaseTarget } from './Database.js';
import { parseDatabaseUrl } from './databaseUrl.js';

/**
 * Chooses the database from configuration: PostgreSQL when a URL is set, otherwise the embedded PGlite in
 * `<dataDir>/pglite`, its own folder beside the development secrets and attachments (a database an older layout
 * kept directly in `dataDir` is moved there when it opens). Deployables pass their parsed config here
 * (`process.env` is read only in each `config.ts`).
 *
 * @param options.databaseUrl - `DATABASE_URL`; empty or absent selects PGlite.
 * @param options.dataDir - the deployable's data folder (`DATA_DIR`, e.g. `.data`).
 * @throws {DatabaseError} `INVALID_DATABASE_URL` when a URL is set but is not a PostgreSQL URL.
 */
/** The embedded database's folder inside the data folder. */
export const PGLITE_FOLDER = 'pglite';

export function databaseTargetFromEnv(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
}): DatabaseTarget {
  const url = options.databaseUrl?.trim();
  if (url === undefined || url === '') {
    return { kind: 'pglite', dataDir: join(options.dataDir, PGLITE_FOLDER), legacyDataDir: options.dataDir };
  }
  parseDatabaseUrl(url);
  return { kind: 'postgres', url };
}
