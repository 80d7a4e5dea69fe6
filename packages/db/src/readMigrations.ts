import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatabaseError } from './DatabaseError.js';

/** One migration of a Prisma migrations folder. */
export interface MigrationFile {
  /** The folder name, e.g. `20250101000000_init`: what `_prisma_migrations.migration_name` holds. */
  readonly name: string;
  /** The content of `migration.sql`. */
  readonly script: string;
  /** Prisma's checksum of `script`: lowercase, zero-padded hex SHA-256 of its UTF-8 bytes. */
  readonly checksum: string;
}

const MIGRATION_FILE = 'migration.sql';
const LOCK_FILE = 'migration_lock.toml';

/**
 * Reads a Prisma migrations folder (`<dir>/<name>/migration.sql`, plus an optional `migration_lock.toml`),
 * ordered as Prisma orders it.
 *
 * @throws {DatabaseError} `MIGRATIONS_DIR_NOT_FOUND`, `MIGRATIONS_DIR_INVALID`.
 */
export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const dir = resolve(migrationsDir);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new DatabaseError('MIGRATIONS_DIR_NOT_FOUND', `Migrations folder not found: ${dir}.`, {
      migrationsDir: dir,
    });
  }

  const lock = await readFile(join(dir, LOCK_FILE), 'utf8').catch(() => undefined);
  const provider = lock?.match(/^\s*provider\s*=\s*"([^"]*)"/m)?.[1];
  if (lock !== undefined && provider !== 'postgresql') {
    throw invalid(
      dir,
      `${LOCK_FILE} names provider ${JSON.stringify(provider ?? null)}, expected "postgresql"`,
    );
  }

  const entries = await readdir(dir, { withFileTypes: true });
  // Prisma's CLI sorts with localeCompare; for `<timestamp>_<name>` folders this is chronological order.
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));

  return Promise.all(
    names.map(async (name) => {
      const script = await readFile(join(dir, name, MIGRATION_FILE), 'utf8').catch(() => undefined);
      if (script === undefined) throw invalid(dir, `${name}/${MIGRATION_FILE} is missing or unreadable`);
      return { name, script, checksum: migrationChecksum(script) };
    }),
  );
}

function invalid(migrationsDir: string, problem: string): DatabaseError<'MIGRATIONS_DIR_INVALID'> {
  return new DatabaseError(
    'MIGRATIONS_DIR_INVALID',
    `Invalid migrations folder ${migrationsDir}: ${problem}.`,
    {
      migrationsDir,
      problem,
    },
  );
}

/** Prisma's checksum of a migration script (see {@link MigrationFile.checksum}). */
export function migrationChecksum(script: string): string {
  return sha256(script).toString('hex');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Whether a recorded checksum still matches a script, with Prisma's tolerances so that our verdict and
 * `prisma migrate status` agree: line endings may differ (git's autocrlf rewrites them on checkout), and rows
 * written by old Prisma engines hold checksums whose bytes were not zero-padded (prisma-engines#1887).
 */
export function checksumMatches(script: string, recorded: string): boolean {
  const candidates = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  const legacy = recorded.length !== 0 && recorded.length !== 64;
  return candidates.some((candidate) => {
    const digest = sha256(candidate);
    const rendered = legacy ? [...digest].map((byte) => byte.toString(16)).join('') : digest.toString('hex');
    return rendered === recorded;
  });
}
