import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import {
  DatabaseError,
  databaseTargetFromEnv,
  isPgliteEntry,
  openDatabase,
  relocateLegacyPglite,
} from '../src/index.js';
import { scratchDir } from './support.js';

/**
 * The embedded database used to live directly in the data folder (`.data/PG_VERSION`, `.data/base`, …, beside
 * `secrets.json` and `attachments/`); it now has its own folder (`.data/pglite`). An old layout is moved once,
 * by renames only, resumably, and nothing else in the data folder is touched.
 */
const PLATFORM_FILES = {
  'secrets.json': '{"INTERNAL_TOKEN_SECRET":"s"}',
  'admin-credentials.txt': 'email: a\n',
};

async function platformFilesIntact(dataDir: string): Promise<void> {
  for (const [name, content] of Object.entries(PLATFORM_FILES))
    expect(await readFile(join(dataDir, name), 'utf8')).toBe(content);
  expect(await readFile(join(dataDir, 'attachments', 'a', 'file.bin'), 'utf8')).toBe('attachment');
}

async function writePlatformFiles(dataDir: string): Promise<void> {
  await mkdir(join(dataDir, 'attachments', 'a'), { recursive: true });
  await writeFile(join(dataDir, 'attachments', 'a', 'file.bin'), 'attachment');
  for (const [name, content] of Object.entries(PLATFORM_FILES)) await writeFile(join(dataDir, name), content);
}

/** The entries of a PostgreSQL data folder as PGlite writes them, as small files with known contents. */
const FAKE_PG_ENTRIES = [
  'PG_VERSION',
  'base',
  'global',
  'pg_wal',
  'pg_xact',
  'pg_hba.conf',
  'postgresql.conf',
  'postgresql.auto.conf',
];

describe('the embedded database in its own folder', () => {
  it('is in <DATA_DIR>/pglite for npm start and every standalone deployable', () => {
    expect(databaseTargetFromEnv({ dataDir: '.data' })).toEqual({
      kind: 'pglite',
      dataDir: join('.data', 'pglite'),
      legacyDataDir: '.data',
    });
    expect(databaseTargetFromEnv({ dataDir: '.data', databaseUrl: 'postgres://u@h/db' })).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h/db',
    });
  });

  it('moves a real database of the old layout on open, keeps its data and leaves the platform files alone; reopening changes nothing', async () => {
    await using scratch = await scratchDir();
    const dataDir = join(scratch.path, 'data');
    const old = await PGlite.create({ dataDir });
    await old.exec(
      `CREATE TABLE kept (id int primary key, note text); INSERT INTO kept VALUES (1, 'survives the move');`,
    );
    await old.close();
    await writePlatformFiles(dataDir);

    for (let start = 0; start < 2; start += 1) {
      const database = await openDatabase(databaseTargetFromEnv({ dataDir }));
      try {
        const adapter = await database.adapterFor('public').connect();
        const result = await adapter.queryRaw({
          sql: 'SELECT note FROM kept WHERE id = 1',
          args: [],
          argTypes: [],
        });
        expect(result.rows).toEqual([['survives the move']]);
        await adapter.dispose();
      } finally {
        await database.close();
      }
      expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
      expect((await readdir(dataDir)).filter(isPgliteEntry)).toEqual([]);
      await platformFilesIntact(dataDir);
    }
  });

  it('finishes a move interrupted at any point without losing an entry (every split of the entries)', async () => {
    // A crash between two renames leaves some entries in `<dataDir>.moving` and the rest in the old place.
    for (let split = 0; split <= FAKE_PG_ENTRIES.length; split += 1) {
      await using scratch = await scratchDir();
      const legacy = join(scratch.path, 'data');
      const target = join(legacy, 'pglite');
      await mkdir(legacy, { recursive: true });
      await writePlatformFiles(legacy);
      for (const name of FAKE_PG_ENTRIES) await writeFile(join(legacy, name), `content of ${name}`);
      await mkdir(`${target}.moving`, { recursive: true });
      for (const name of FAKE_PG_ENTRIES.slice(0, split))
        await rename(join(legacy, name), join(`${target}.moving`, name));
      // An interrupted start may also have left the (empty) target folder behind.
      if (split % 2 === 1) await mkdir(target);

      expect(await relocateLegacyPglite(legacy, target)).toBe(true);
      expect((await readdir(target)).sort()).toEqual([...FAKE_PG_ENTRIES].sort());
      for (const name of FAKE_PG_ENTRIES)
        expect(await readFile(join(target, name), 'utf8')).toBe(`content of ${name}`);
      expect(existsSync(`${target}.moving`)).toBe(false);
      await platformFilesIntact(legacy);
      expect(await relocateLegacyPglite(legacy, target)).toBe(false);
    }
  });

  it('never overwrites: with a database in both places the new one wins and the old files stay; a non-empty target blocks with a coded error', async () => {
    await using scratch = await scratchDir();
    const legacy = join(scratch.path, 'data');
    const target = join(legacy, 'pglite');
    await mkdir(target, { recursive: true });
    await writeFile(join(legacy, 'PG_VERSION'), 'old');
    await writeFile(join(target, 'PG_VERSION'), 'new');
    expect(await relocateLegacyPglite(legacy, target)).toBe(false);
    expect(await readFile(join(legacy, 'PG_VERSION'), 'utf8')).toBe('old');
    expect(await readFile(join(target, 'PG_VERSION'), 'utf8')).toBe('new');

    await rename(join(target, 'PG_VERSION'), join(target, 'notes.txt'));
    const blocked = await relocateLegacyPglite(legacy, target).catch((error: unknown) => error);
    expect(blocked).toBeInstanceOf(DatabaseError);
    expect(blocked).toMatchObject({ code: 'PGLITE_RELOCATION_BLOCKED' });
    expect(await readFile(join(`${target}.moving`, 'PG_VERSION'), 'utf8')).toBe('old');
  });

  it('recognises PostgreSQL entries only', () => {
    for (const name of [
      'PG_VERSION',
      'base',
      'global',
      'pg_wal',
      'pg_stat_tmp',
      'postgresql.conf',
      'postmaster.pid',
    ])
      expect(isPgliteEntry(name)).toBe(true);
    for (const name of [
      'secrets.json',
      'attachments',
      'admin-credentials.txt',
      'pglite',
      'pglite.lock',
      'pglite.moving',
      'notes',
    ])
      expect(isPgliteEntry(name)).toBe(false);
  });
});
