import type { DatabaseTarget } from './Database.js';
import { parseDatabaseUrl } from './databaseUrl.js';

/**
 * Chooses the database from configuration: PostgreSQL when a URL is set, otherwise the embedded PGlite in
 * `dataDir`. Subgraphs pass their parsed config here (`process.env` is read only in each `config.ts`).
 *
 * @param options.databaseUrl - `DATABASE_URL`; empty or absent selects PGlite.
 * @param options.dataDir - where PGlite keeps its files, e.g. `.data/pglite`.
 * @throws {DatabaseError} `INVALID_DATABASE_URL` when a URL is set but is not a PostgreSQL URL.
 */
export function databaseTargetFromEnv(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
}): DatabaseTarget {
  const url = options.databaseUrl?.trim();
  if (url === undefined || url === '') return { kind: 'pglite', dataDir: options.dataDir };
  parseDatabaseUrl(url);
  return { kind: 'postgres', url };
}
