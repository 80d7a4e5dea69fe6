import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
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
  freshDatabase,
  scratchDir,
  TRIGGER_MIGRATION,
  TRIGGER_SQL,
  withClient,
} from './support.js';

/** The lock Prisma Migrate (and our runner) take. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

async function open(
  url: string,
  options?: Parameters<typeof openDatabase>[1],
): Promise<Database & AsyncDisposable> {
  const database = await openDatabase({ kind: 'postgres', url }, options);
  return Object.assign(database, { [Symbol.asyncDispose]: () => database.close() });
}

async function onlyMigration(migrationsDir: string): Promise<string> {
  const [name] = (await readdir(migrationsDir, { withFileTypes: true })).filter((e) => e.isDirectory());
  if (!name) throw new Error(`no migration in ${migrationsDir}`);
  return name.name;
}

describe('migrate on PostgreSQL', () => {
  it('applies each subgraph into its own schema, records it as Prisma does, and is idempotent', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url);
    const alphaInit = await onlyMigration(ALPHA.migrationsDir);

    expect(await db.migrate(ALPHA)).toEqual({ applied: [alphaInit] });
    expect(await db.migrate(BETA)).toEqual({ applied: [await onlyMigration(BETA.migrationsDir)] });
    expect(await db.migrate(ALPHA)).toEqual({ applied: [] });
    expect(await db.migrate(BETA)).toEqual({ applied: [] });

    await withClient(fresh.url, async (client) => {
      const tables = await client.query<{ table_schema: string; table_name: string }>(
        `SELECT table_schema, table_name FROM information_schema.tables
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
      );
      expect(tables.rows).toEqual([
        { table_schema: 'alpha', table_name: '_prisma_migrations' },
        { table_schema: 'alpha', table_name: 'accounts' },
        { table_schema: 'beta', table_name: '_prisma_migrations' },
        { table_schema: 'beta', table_name: 'notes' },
      ]);
      const history = await client.query(
        'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, logs, applied_steps_count FROM alpha._prisma_migrations',
      );
      const script = await readFile(join(ALPHA.migrationsDir, alphaInit, 'migration.sql'));
      expect(history.rows).toEqual([
        {
          migration_name: alphaInit,
          checksum: createHash('sha256').update(script).digest('hex'),
          finished: true,
          rolled_back_at: null,
          logs: null,
          applied_steps_count: 1,
        },
      ]);
    });
  });

  it('applies once when two processes migrate at the same time', async () => {
    await using fresh = await freshDatabase();
    // Two Databases = two pools, as two processes starting together would have.
    await using first = await open(fresh.url);
    await using second = await open(fresh.url);

    const results = await Promise.all([
      first.migrate(ALPHA),
      second.migrate(ALPHA),
      first.migrate(BETA),
      second.migrate(BETA),
    ]);

    const applied = results.flatMap((result) => result.applied);
    expect(applied.sort()).toEqual(
      [await onlyMigration(ALPHA.migrationsDir), await onlyMigration(BETA.migrationsDir)].sort(),
    );
    await withClient(fresh.url, async (client) => {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM alpha._prisma_migrations');
      expect(rows[0]).toEqual({ n: 1 });
    });
  });

  it('fails clearly when an applied migration was edited, but tolerates line-ending changes', async () => {
    await using fresh = await freshDatabase();
    await using scratch = await scratchDir();
    await using db = await open(fresh.url);
    const dir = await copyFixture(ALPHA, scratch.path);
    const migrationsDir = join(dir, 'prisma', 'migrations');
    const name = await onlyMigration(migrationsDir);
    const file = join(migrationsDir, name, 'migration.sql');
    await db.migrate({ schema: 'alpha', migrationsDir });

    // git's autocrlf rewrites line endings on checkout; Prisma ignores that, so do we.
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replaceAll('\n', '\r\n'));
    expect(await db.migrate({ schema: 'alpha', migrationsDir })).toEqual({ applied: [] });

    await writeFile(file, `${original}\nALTER TABLE "accounts" ADD COLUMN "nickname" TEXT;\n`);
    const error = await db.migrate({ schema: 'alpha', migrationsDir }).catch((e: unknown) => e);
    expect(DatabaseError.is(error, 'MIGRATION_CHECKSUM_MISMATCH')).toBe(true);
    expect(error).toMatchObject({ details: { schema: 'alpha', migrations: [name] } });
    expect((error as Error).message).toContain(name);
  });

  it('rolls a failing migration back entirely and reports where it failed', async () => {
    await using fresh = await freshDatabase();
    await using scratch = await scratchDir();
    await using db = await open(fresh.url);
    const dir = await copyFixture(ALPHA, scratch.path);
    const migrationsDir = join(dir, 'prisma', 'migrations');
    const broken = join(migrationsDir, '29990101000000_broken');
    await mkdir(broken);
    await writeFile(
      join(broken, 'migration.sql'),
      'CREATE TABLE "audit" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "audit" VALUES (1);\nSELECT * FROM "no_such_table";\n',
    );

    const error = await db.migrate({ schema: 'alpha', migrationsDir }).catch((e: unknown) => e);

    expect(DatabaseError.is(error, 'MIGRATION_FAILED')).toBe(true);
    expect(error).toMatchObject({
      details: { schema: 'alpha', migration: '29990101000000_broken', line: 3, sqlState: '42P01' },
    });
    expect((error as Error).message).toMatch(
      /29990101000000_broken failed in schema "alpha" at line 3: relation "no_such_table" does not exist/,
    );
    await withClient(fresh.url, async (client) => {
      // The migration before it stays applied; nothing of the failed one exists, not even a history row.
      expect((await client.query(`SELECT to_regclass('alpha.audit') AS t`)).rows).toEqual([{ t: null }]);
      const names = await client.query('SELECT migration_name FROM alpha._prisma_migrations');
      expect(names.rows).toEqual([{ migration_name: await onlyMigration(ALPHA.migrationsDir) }]);
    });

    // Fixed, it applies on the next start.
    await writeFile(join(broken, 'migration.sql'), 'CREATE TABLE "audit" ("id" INTEGER PRIMARY KEY);\n');
    expect(await db.migrate({ schema: 'alpha', migrationsDir })).toEqual({
      applied: ['29990101000000_broken'],
    });
  });

  it('refuses to go on after a migration that another tool left unfinished', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url);
    await db.migrate(ALPHA);
    await withClient(fresh.url, (client) =>
      client.query(
        `INSERT INTO alpha._prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
         VALUES ('00000000-0000-4000-8000-000000000001', 'x', '20000101000000_half_done', 'boom', now(), 0)`,
      ),
    );

    const error = await db.migrate(ALPHA).catch((e: unknown) => e);

    expect(DatabaseError.is(error, 'MIGRATION_PREVIOUSLY_FAILED')).toBe(true);
    expect(error).toMatchObject({ details: { schema: 'alpha', migrations: ['20000101000000_half_done'] } });
    expect((error as Error).message).toContain('prisma migrate resolve');
  });

  it('runs scripts whole: dollar-quoted bodies with semicolons survive', async () => {
    await using fresh = await freshDatabase();
    await using scratch = await scratchDir();
    await using db = await open(fresh.url);
    const dir = await copyFixture(ALPHA, scratch.path);
    const migrationsDir = join(dir, 'prisma', 'migrations');
    await addMigration(migrationsDir, TRIGGER_MIGRATION, TRIGGER_SQL);
    await db.migrate({ schema: 'alpha', migrationsDir });

    const prisma = new AlphaClient({ adapter: db.adapterFor('alpha') });
    try {
      const account = await prisma.account.create({ data: { email: 'Ada@Example.COM' } });
      expect(account.email).toBe('ada@example.com');
    } finally {
      await prisma.$disconnect();
    }
  });

  it('serves Prisma clients of two subgraphs from schema-qualified tables', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url, { poolSize: 3 });
    await db.migrate(ALPHA);
    await db.migrate(BETA);
    const alpha = new AlphaClient({ adapter: db.adapterFor('alpha') });
    const beta = new BetaClient({ adapter: db.adapterFor('beta') });
    try {
      await alpha.account.create({ data: { email: 'a@example.com', balance: 3 } });
      await beta.note.create({ data: { title: 'hello', status: 'PUBLISHED', tags: ['x', 'y'] } });
      expect(await alpha.account.findMany({ select: { email: true, balance: true } })).toEqual([
        { email: 'a@example.com', balance: 3 },
      ]);
      expect(await beta.note.findFirst({ select: { title: true, status: true, tags: true } })).toEqual({
        title: 'hello',
        status: 'PUBLISHED',
        tags: ['x', 'y'],
      });
      // Raw SQL is not rewritten: it names its schema.
      expect(await beta.$queryRaw`SELECT count(*)::int AS n FROM "beta"."notes"`).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all([alpha.$disconnect(), beta.$disconnect()]);
    }
  });

  it('honours the pool size and the transaction wait: a second transaction on a full pool is refused (P2028)', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url, { poolSize: 1, transactionMaxWaitMs: 200 });
    expect(db.transactionOptions.maxWait).toBe(200);
    await db.migrate(ALPHA);
    const alpha = new AlphaClient({
      adapter: db.adapterFor('alpha'),
      transactionOptions: db.transactionOptions,
    });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const holding = new Promise<void>((resolve) => (started = resolve));
      // The pool's one connection is held by this transaction until the second one has been refused.
      const first = alpha.$transaction(async (tx) => {
        await tx.account.create({ data: { email: 'held@example.com' } });
        started();
        await held;
      });
      await holding;
      const refused = await alpha.$transaction(async (tx) => tx.account.count()).catch((e: unknown) => e);
      release();
      await first;
      expect(refused).toMatchObject({ code: 'P2028' });
      expect(await alpha.account.count()).toBe(1);
    } finally {
      await alpha.$disconnect();
    }
  });

  it('times out clearly while another process holds the migration lock', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url, { migrationLockTimeoutMs: 300 });
    await withClient(fresh.url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
      const error = await db.migrate(ALPHA).catch((e: unknown) => e);
      expect(DatabaseError.is(error, 'MIGRATION_LOCK_TIMEOUT')).toBe(true);
      expect(error).toMatchObject({ details: { schema: 'alpha', timeoutMs: 300 } });
    });
    // Once the holder is gone, migrating works.
    expect((await db.migrate(ALPHA)).applied).toHaveLength(1);
  });

  it('rejects bad input with stable codes', async () => {
    await using fresh = await freshDatabase();
    await using db = await open(fresh.url);
    await expect(
      db.migrate({ schema: 'alpha', migrationsDir: '/nonexistent/migrations' }),
    ).rejects.toMatchObject({
      code: 'MIGRATIONS_DIR_NOT_FOUND',
    });
    await expect(db.migrate({ schema: 'al"pha', migrationsDir: ALPHA.migrationsDir })).rejects.toMatchObject({
      code: 'INVALID_SCHEMA_NAME',
    });
    expect(() => db.adapterFor('drop table')).toThrow(
      expect.objectContaining({ code: 'INVALID_SCHEMA_NAME' }),
    );
    await expect(openDatabase({ kind: 'postgres', url: 'mysql://x@localhost/db' })).rejects.toMatchObject({
      code: 'INVALID_DATABASE_URL',
    });
    await expect(
      openDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' }),
    ).rejects.toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
    });
    expect(await db.ping()).toBeGreaterThan(0);
    await db.close();
    await expect(db.ping()).rejects.toMatchObject({ code: 'DATABASE_CLOSED' });
  });
});
