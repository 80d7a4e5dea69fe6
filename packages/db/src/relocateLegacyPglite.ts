import { mkdir, readdir, rename, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabaseLogger } from './Database.js';
import { DatabaseError } from './DatabaseError.js';

/**
 * Entries of a PostgreSQL data directory as PGlite writes it (and nothing a platform keeps beside it, such as
 * `secrets.json`, `attachments/` or `admin-credentials.txt`).
 */
export function isPgliteEntry(name: string): boolean {
  return (
    name === 'PG_VERSION' ||
    name === 'base' ||
    name === 'global' ||
    name === 'postmaster.opts' ||
    name === 'postmaster.pid' ||
    name.startsWith('pg_') ||
    name.startsWith('postgresql.')
  );
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Moves a PGlite database that an older layout kept directly in `legacyDir` (the data folder, mixed with secrets
 * and attachments) into its own `dataDir`, once. Never loses data: the entries are renamed (same filesystem, no
 * copy) into `<dataDir>.moving`, which is renamed to `dataDir` only when complete, so a crash at any point is
 * resumed by the next start; when `dataDir` already holds a database nothing is moved and the old files stay
 * where they are (logged). Call with both directories locked against other processes.
 * @throws {DatabaseError} `PGLITE_RELOCATION_BLOCKED` when `dataDir` exists with other files in it.
 * @returns whether a database was moved
 */
export async function relocateLegacyPglite(
  legacyDir: string,
  dataDir: string,
  logger?: DatabaseLogger,
): Promise<boolean> {
  const staging = `${dataDir}.moving`;
  const legacyHasDatabase = await exists(join(legacyDir, 'PG_VERSION'));
  const resuming = await exists(staging);
  if (!legacyHasDatabase && !resuming) return false;
  if (await exists(join(dataDir, 'PG_VERSION'))) {
    logger?.warn(
      { legacyDir, dataDir },
      'an embedded database exists in both the old and the new location; using the new one and leaving the old files untouched',
    );
    return false;
  }
  await mkdir(staging, { recursive: true });
  const entries = (await readdir(legacyDir)).filter(isPgliteEntry);
  for (const name of entries) await rename(join(legacyDir, name), join(staging, name));
  // An empty dataDir (an interrupted earlier start may have created it) would make the final rename fail.
  if (await exists(dataDir)) {
    if ((await readdir(dataDir)).length > 0) {
      throw new DatabaseError(
        'PGLITE_RELOCATION_BLOCKED',
        `Cannot move the embedded database into ${dataDir}: that folder is not empty. The database is complete in ${staging}; move the other files out of ${dataDir} and start again.`,
        { dataDir, staging },
      );
    }
    await rmdir(dataDir);
  }
  await rename(staging, dataDir);
  logger?.info(
    { from: legacyDir, to: dataDir, entries: entries.length },
    'moved the embedded database to its own folder',
  );
  return true;
}
