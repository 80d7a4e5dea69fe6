import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { ALPHA, copyFixture, freshDatabase, runPrismaScript, scratchDir } from './support.js';

/**
 * The offline toolchain end to end: the stock Prisma CLI through scripts/prisma.mjs (and its WebAssembly schema
 * engine), against our runtime migration runner.
 */
describe('scripts/prisma.mjs', () => {
  it('migrate:check passes on a matching schema, fails readably on drift, and migrate:new closes the gap', async () => {
    await using scratch = await scratchDir();
    const subgraph = await copyFixture(ALPHA, scratch.path);

    const clean = await runPrismaScript(['migrate:check', subgraph]);
    expect(clean.stderr).toBe('');
    expect(clean.stdout).toContain('migrations match prisma/schema.prisma');
    expect(clean.code).toBe(0);

    const schemaFile = join(subgraph, 'prisma', 'schema.prisma');
    const schema = await readFile(schemaFile, 'utf8');
    await writeFile(schemaFile, schema.replace('  balance   Int', '  nickname  String?\n  balance   Int'));

    const drifted = await runPrismaScript(['migrate:check', subgraph]);
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toContain('prisma/schema.prisma differs from what prisma/migrations build');
    expect(drifted.stderr).toContain('ALTER TABLE "accounts" ADD COLUMN     "nickname" TEXT;');
    expect(drifted.stderr).toContain(`migrate:new`);

    const created = await runPrismaScript(['migrate:new', subgraph, 'Add nickname']);
    expect(created.code).toBe(0);
    const migrations = (await readdir(join(subgraph, 'prisma', 'migrations'))).filter(
      (name) => name !== 'migration_lock.toml',
    );
    expect(migrations).toHaveLength(2);
    const added = migrations.find((name) => name.endsWith('_add_nickname'));
    expect(added).toMatch(/^\d{14}_add_nickname$/);
    expect(
      await readFile(join(subgraph, 'prisma', 'migrations', String(added), 'migration.sql'), 'utf8'),
    ).toBe('-- AlterTable\nALTER TABLE "accounts" ADD COLUMN     "nickname" TEXT;\n');

    expect((await runPrismaScript(['migrate:check', subgraph])).code).toBe(0);
    // Nothing left to add: migrate:new says so instead of writing an empty migration.
    const nothing = await runPrismaScript(['migrate:new', subgraph, 'again']);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('no migration created');

    // The stock `migrate dev --create-only` works too (its createMigration is rebuilt on the wasm engine's diff).
    await using dev = await freshDatabase();
    await writeFile(
      schemaFile,
      (await readFile(schemaFile, 'utf8')).replace('nickname  String?', 'nickname  String? @unique'),
    );
    const createOnly = await runPrismaScript(
      ['-C', subgraph, 'migrate', 'dev', '--create-only', '--name', 'unique_nickname'],
      {
        DATABASE_URL: dev.url,
      },
    );
    expect(createOnly.code).toBe(0);
    const unique = (await readdir(join(subgraph, 'prisma', 'migrations'))).find((name) =>
      name.endsWith('_unique_nickname'),
    );
    expect(
      await readFile(join(subgraph, 'prisma', 'migrations', String(unique), 'migration.sql'), 'utf8'),
    ).toContain('CREATE UNIQUE INDEX "accounts_nickname_key" ON "accounts"("nickname");');
  }, 60_000);

  it('prisma migrate status and deploy agree with our runner', async () => {
    await using scratch = await scratchDir();
    await using ours = await freshDatabase();
    await using theirs = await freshDatabase();
    const subgraph = await copyFixture(ALPHA, scratch.path);
    const status = (url: string) =>
      runPrismaScript(['-C', subgraph, 'migrate', 'status'], { DATABASE_URL: url });

    // Applied by our runner: the stock CLI sees an up-to-date history.
    const db = await openDatabase({ kind: 'postgres', url: ours.url });
    try {
      const migrationsDir = join(subgraph, 'prisma', 'migrations');
      await db.migrate({ schema: 'alpha', migrationsDir });
      const upToDate = await status(ours.url);
      expect(upToDate.stdout).toContain('Database schema is up to date!');
      expect(upToDate.code).toBe(0);

      // A new migration: the CLI lists it as pending, our runner applies it, the CLI agrees again.
      const schemaFile = join(subgraph, 'prisma', 'schema.prisma');
      await writeFile(
        schemaFile,
        (await readFile(schemaFile, 'utf8')).replace(
          '  balance   Int',
          '  nickname  String?\n  balance   Int',
        ),
      );
      expect((await runPrismaScript(['migrate:new', subgraph, 'add_nickname'])).code).toBe(0);
      const behind = await status(ours.url);
      expect(behind.code).toBe(1);
      expect(behind.stdout).toMatch(/Following migration have not yet been applied:\s+\d{14}_add_nickname/);
      expect((await db.migrate({ schema: 'alpha', migrationsDir })).applied).toEqual([
        expect.stringMatching(/_add_nickname$/),
      ]);
      expect((await status(ours.url)).code).toBe(0);
    } finally {
      await db.close();
    }

    // Applied by the stock CLI: our runner finds nothing to do, and accepts its checksums.
    const deploy = await runPrismaScript(['-C', subgraph, 'migrate', 'deploy'], { DATABASE_URL: theirs.url });
    expect(deploy.stdout).toContain('All migrations have been successfully applied.');
    expect(deploy.code).toBe(0);
    const other = await openDatabase({ kind: 'postgres', url: theirs.url });
    try {
      expect(
        await other.migrate({ schema: 'alpha', migrationsDir: join(subgraph, 'prisma', 'migrations') }),
      ).toEqual({
        applied: [],
      });
    } finally {
      await other.close();
    }
  }, 60_000);
});
