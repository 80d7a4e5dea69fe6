import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Database, DatabaseError, openDatabase } from '../src/index.js';
import { PrismaClient as AlphaClient } from './fixtures/alpha/src/generated/prisma/client.js';
import { PrismaClient as BetaClient } from './fixtures/beta/src/generated/prisma/client.js';
import {
  addMigration,
  ALPHA,
  BETA,
  copyFixture,
  scratchDir,
  TRIGGER_MIGRATION,
  TRIGGER_SQL,
} from './support.js';

async function open(dataDir: string | null): Promise<Database & AsyncDisposable> {
  const database = await openDatabase({ kind: 'pglite', dataDir });
  return Object.assign(database, { [Symbol.asyncDispose]: () => database.close() });
}

async function migrationNames(migrationsDir: string): Promise<string[]> {
  return (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

describe('migrate on PGlite', () => {
  it('applies the same fixtures in memory, records them as Prisma does, runs scripts whole, rolls failures back', async () => {
    await using scratch = await scratchDir();
    await using db = await open(null);
    expect(db.kind).toBe('pglite');

    expect(await db.migrate(ALPHA)).toEqual({ applied: await migrationNames(ALPHA.migrationsDir) });
    expect(await db.migrate(BETA)).toEqual({ applied: await migrationNames(BETA.migrationsDir) });
    expect(await db.migrate(ALPHA)).toEqual({ applied: [] });

    const alpha = new AlphaClient({ adapter: db.adapterFor('alpha') });
    const beta = new BetaClient({ adapter: db.adapterFor('beta') });
    try {
      const tables = await alpha.$queryRaw<Array<{ table_schema: string; table_name: string }>>`
        SELECT table_schema, table_name FROM information_schema.tables
         WHERE table_schema IN ('alpha', 'beta', 'public') ORDER BY 1, 2`;
      expect(tables).toEqual([
        { table_schema: 'alpha', table_name: '_prisma_migrations' },
        { table_schema: 'alpha', table_name: 'accounts' },
        { table_schema: 'beta', table_name: '_prisma_migrations' },
        { table_schema: 'beta', table_name: 'notes' },
      ]);
      const [init] = await migrationNames(ALPHA.migrationsDir);
      const script = await readFile(join(ALPHA.migrationsDir, String(init), 'migration.sql'));
      expect(
        await alpha.$queryRaw`SELECT migration_name, checksum, applied_steps_count FROM "alpha"."_prisma_migrations"`,
      ).toEqual([
        {
          migration_name: init,
          checksum: createHash('sha256').update(script).digest('hex'),
          applied_steps_count: 1,
        },
      ]);

      // A trigger with a $$ body, then a migration that fails after creating a table.
      const dir = await copyFixture(ALPHA, scratch.path);
      const migrationsDir = join(dir, 'prisma', 'migrations');
      await addMigration(migrationsDir, TRIGGER_MIGRATION, TRIGGER_SQL);
      await addMigration(
        migrationsDir,
        '29990102000000_broken',
        'CREATE TABLE "audit" ("id" INTEGER PRIMARY KEY);\nSELECT * FROM "no_such_table";\n',
      );
      const error = await db.migrate({ schema: 'alpha', migrationsDir }).catch((e: unknown) => e);
      expect(DatabaseError.is(error, 'MIGRATION_FAILED')).toBe(true);
      expect(error).toMatchObject({
        details: { migration: '29990102000000_broken', line: 2, sqlState: '42P01' },
      });
      expect(await alpha.$queryRaw`SELECT to_regclass('alpha.audit')::text AS t`).toEqual([{ t: null }]);
      expect(
        await alpha.$queryRaw`SELECT migration_name FROM "alpha"."_prisma_migrations" ORDER BY 1`,
      ).toEqual([{ migration_name: init }, { migration_name: TRIGGER_MIGRATION }]);

      // The shared session is left clean: a migration's search_path does not leak into later queries.
      expect(await alpha.$queryRaw`SELECT current_schemas(false)::text AS path`).toEqual([
        { path: '{public}' },
      ]);

      const account = await alpha.account.create({ data: { email: 'Ada@Example.COM' } });
      expect(account.email).toBe('ada@example.com');
      const note = await beta.note.create({ data: { title: 'hi', status: 'PUBLISHED', tags: ['a'] } });
      expect(
        await beta.note.findUnique({ where: { id: note.id }, select: { status: true, tags: true } }),
      ).toEqual({
        status: 'PUBLISHED',
        tags: ['a'],
      });
    } finally {
      await Promise.all([alpha.$disconnect(), beta.$disconnect()]);
    }
  });

  it('persists in a data directory: reopened, data is there and nothing is reapplied', async () => {
    await using scratch = await scratchDir();
    const dataDir = join(scratch.path, '.data', 'pglite');

    {
      await using db = await open(dataDir);
      expect((await db.migrate(ALPHA)).applied).toHaveLength(1);
      // A second Database on the same directory in this process joins the same PGlite instance.
      await using again = await open(dataDir);
      const alpha = new AlphaClient({ adapter: again.adapterFor('alpha') });
      await alpha.account.create({ data: { email: 'kept@example.com', balance: 42 } });
      await alpha.$disconnect();
      await again.close();
      // Closing one share keeps the instance open for the other.
      expect(await db.ping()).toBeGreaterThan(0);
      expect(existsSync(`${dataDir}.lock`)).toBe(true);
    }
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    await using reopened = await open(dataDir);
    expect(await reopened.migrate(ALPHA)).toEqual({ applied: [] });
    const alpha = new AlphaClient({ adapter: reopened.adapterFor('alpha') });
    try {
      expect(await alpha.account.findMany({ select: { email: true, balance: true } })).toEqual([
        { email: 'kept@example.com', balance: 42 },
      ]);
    } finally {
      await alpha.$disconnect();
    }
  });

  it('refuses a data directory another live process holds, and takes over a stale lock', async () => {
    await using scratch = await scratchDir();
    const dataDir = join(scratch.path, 'pglite');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await writeFile(`${dataDir}.lock`, `${other.pid}\n`);
      const error = await openDatabase({ kind: 'pglite', dataDir }).catch((e: unknown) => e);
      expect(DatabaseError.is(error, 'PGLITE_DATA_DIR_LOCKED')).toBe(true);
      expect(error).toMatchObject({ details: { pid: other.pid } });
    } finally {
      other.kill();
    }
    await new Promise((resolve) => other.once('exit', resolve));

    // Its process is gone: the lock is stale and taken over.
    await using db = await open(dataDir);
    expect(await readFile(`${dataDir}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    expect(await db.ping()).toBeGreaterThan(0);
  });
});
