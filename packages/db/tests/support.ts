/**
 * Helpers for @cap/db's own tests. They cannot use @cap/testkit's `createTestDatabase` (testkit depends on
 * @cap/db; the reverse would be a package cycle), so a minimal raw-database helper lives here.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const SERVER_URL = process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The two fixture "subgraphs": each owns one schema and has one committed migration. */
export const ALPHA = {
  schema: 'alpha',
  dir: join(FIXTURES, 'alpha'),
  migrationsDir: join(FIXTURES, 'alpha', 'prisma', 'migrations'),
} as const;
export const BETA = {
  schema: 'beta',
  dir: join(FIXTURES, 'beta'),
  migrationsDir: join(FIXTURES, 'beta', 'prisma', 'migrations'),
} as const;

export async function onServer<T>(fn: (client: pg.Client) => Promise<T>, url = SERVER_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh PostgreSQL database for one test, dropped on dispose. */
export async function freshDatabase(): Promise<{ url: string } & AsyncDisposable> {
  const name = `dbtest_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    [Symbol.asyncDispose]: () =>
      onServer(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

/** Runs `fn` with a client on `url`. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return onServer(fn, url);
}

/**
 * A scratch directory outside the repository, disposed with its content. `node_modules` is linked in, so a
 * copied prisma.config.ts still resolves `prisma/config`.
 */
export async function scratchDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), 'cap-db-test-'));
  await symlink(join(REPO_ROOT, 'node_modules'), join(path, 'node_modules'), 'dir');
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** Copies a fixture subgraph (config, schema, migrations; not the generated client) into `into`. */
export async function copyFixture(fixture: { dir: string }, into: string): Promise<string> {
  const target = join(into, 'subgraph');
  await cp(join(fixture.dir, 'prisma'), join(target, 'prisma'), { recursive: true });
  await cp(join(fixture.dir, 'prisma.config.ts'), join(target, 'prisma.config.ts'));
  return target;
}

/** The name the tests give the {@link TRIGGER_SQL} migration (it sorts after every fixture's). */
export const TRIGGER_MIGRATION = '29990101000000_trigger';

/**
 * A trigger that lowercases `accounts.email` (the alpha fixture's table), with a `$$` body holding semicolons: a
 * runner that split scripts on `;` would break it.
 */
export const TRIGGER_SQL = `CREATE FUNCTION "lowercase_email"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.email := lower(NEW.email);
  RETURN NEW;
END;
$$;
CREATE TRIGGER "accounts_lowercase_email" BEFORE INSERT ON "accounts"
  FOR EACH ROW EXECUTE FUNCTION "lowercase_email"();
`;

/** Writes `sql` as the migration `name` into a copied fixture's `migrationsDir`. */
export async function addMigration(migrationsDir: string, name: string, sql: string): Promise<void> {
  await mkdir(join(migrationsDir, name));
  await writeFile(join(migrationsDir, name, 'migration.sql'), sql);
}

/** Runs `node scripts/prisma.mjs ...` from the repository root and collects its output. */
export function runPrismaScript(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'prisma.mjs'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
