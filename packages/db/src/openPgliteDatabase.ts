import { constants } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Database, MigrateOptions, OpenDatabaseOptions, SqlDriverAdapterFactory } from './Database.js';
import { DatabaseError } from './DatabaseError.js';
import { relocateLegacyPglite } from './relocateLegacyPglite.js';
import { type MigrationBackend, type MigrationSql, applyMigrations } from './applyMigrations.js';
import { quoteSchemaName } from './schemaName.js';

/**
 * One PGlite instance and what serializes migrations on it. PGlite is a single PostgreSQL session in this
 * process: every PrismaClient of every subgraph talks through it. PGlite itself queues work so that a
 * transaction holds the session exclusively (`query`/`exec` outside a transaction wait for open transactions;
 * `transaction()` waits for the one before it), which is what keeps clients of different subgraphs from
 * interleaving statements into each other's transactions. So all adapters must share this one object.
 */
interface Instance {
  readonly pglite: PGlite;
  /** Serializes `migrate()` calls in this process (the PostgreSQL advisory lock's counterpart). */
  migrations: Promise<unknown>;
  refs: number;
  readonly release: () => Promise<void>;
}

/**
 * How long a PrismaClient may wait for the session to start a transaction: every transaction of every subgraph
 * queues for it, so bursts wait seconds where PostgreSQL would run them side by side. Prisma's default (2 s)
 * turned a 1,000-operation burst into P2028 failures here.
 */
const TRANSACTION_MAX_WAIT_MS = 30_000;
/** Prisma's default: counted from when the transaction got the session, so the queue does not eat into it. */
const TRANSACTION_TIMEOUT_MS = 5_000;

/**
 * Instances with a data directory, by absolute path, so that subgraphs opening "their" database in one process
 * share one PGlite instead of two instances writing the same files.
 */
const byDataDir = new Map<string, Promise<Instance>>();
/** Instances being closed, so that reopening the same directory waits until its files are released. */
const closingDataDirs = new Map<string, Promise<void>>();

/** Opens (or joins) the embedded PGlite database. `dataDir` null keeps it in memory, private to this Database. */
export async function openPgliteDatabase(
  dataDir: string | null,
  options: OpenDatabaseOptions = {},
  legacyDataDir?: string,
): Promise<Database> {
  const { logger } = options;
  const key = dataDir === null ? null : resolve(dataDir);
  const instance = await acquire(
    key,
    options,
    legacyDataDir === undefined ? undefined : resolve(legacyDataDir),
  );
  const target = key ?? 'memory://';
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new DatabaseError('DATABASE_CLOSED', 'The database was closed.', { kind: 'pglite' });
  };

  const backend: MigrationBackend = {
    withMigrationLock(_schema, fn) {
      const run = instance.migrations.then(() =>
        fn({
          ...sqlOf(instance.pglite),
          transaction: (body) => instance.pglite.transaction((tx) => body(sqlOf(tx))),
        }),
      );
      instance.migrations = run.catch(() => undefined);
      return run;
    },
  };

  return {
    kind: 'pglite',
    transactionOptions: {
      maxWait: options.transactionMaxWaitMs ?? TRANSACTION_MAX_WAIT_MS,
      timeout: TRANSACTION_TIMEOUT_MS,
    },
    adapterFor(schema: string): SqlDriverAdapterFactory {
      assertOpen();
      quoteSchemaName(schema);
      return pgliteAdapterFactory(instance.pglite, schema);
    },
    async migrate(migrateOptions: MigrateOptions) {
      assertOpen();
      return applyMigrations(backend, migrateOptions, logger);
    },
    async ping() {
      assertOpen();
      const started = performance.now();
      try {
        await instance.pglite.query('SELECT 1');
      } catch (error) {
        throw new DatabaseError(
          'DATABASE_UNAVAILABLE',
          `PGlite at ${target} is unavailable: ${error instanceof Error ? error.message : String(error)}`,
          { kind: 'pglite', target },
          { cause: error },
        );
      }
      return performance.now() - started;
    },
    async close() {
      if (closed) return;
      closed = true;
      await releaseInstance(key, instance);
    },
  };
}

function sqlOf(queryable: Pick<PGlite, 'query' | 'exec'>): MigrationSql {
  return {
    async query<R extends object>(sql: string, params?: unknown[]) {
      return (await queryable.query<R>(sql, params)).rows;
    },
    async exec(script: string) {
      await queryable.exec(script);
    },
  };
}

/**
 * pglite-prisma-adapter's factory, adjusted: it reports the schema like adapter-pg's `{ schema }` option does,
 * and its `executeScript` awaits PGlite (upstream fires `exec` without awaiting, losing errors and ordering).
 */
function pgliteAdapterFactory(pglite: PGlite, schema: string): SqlDriverAdapterFactory {
  const upstream = new PrismaPGlite(pglite);
  const factory = {
    provider: upstream.provider,
    adapterName: upstream.adapterName,
    async connect() {
      const adapter = await upstream.connect();
      return Object.assign(adapter, {
        getConnectionInfo: () => ({ schemaName: schema, supportsRelationJoins: true }),
        executeScript: async (script: string): Promise<void> => {
          await pglite.exec(script);
        },
      });
    },
  };
  // pglite-prisma-adapter is typed against an older @prisma/driver-adapter-utils (7.2) than our client (7.9);
  // the runtime contract is the same, the declarations differ in optional members only.
  return factory as unknown as SqlDriverAdapterFactory;
}

async function acquire(
  key: string | null,
  options: OpenDatabaseOptions,
  legacyDataDir?: string,
): Promise<Instance> {
  if (key === null) return create(null, options);
  await closingDataDirs.get(key);
  let pending = byDataDir.get(key);
  if (pending === undefined) {
    pending = create(key, options, legacyDataDir);
    byDataDir.set(key, pending);
    // A failed open must not poison later attempts.
    pending.catch(() => byDataDir.delete(key));
  }
  const instance = await pending;
  instance.refs += 1;
  return instance;
}

async function releaseInstance(key: string | null, instance: Instance): Promise<void> {
  instance.refs -= 1;
  if (instance.refs > 0) return;
  if (key === null) return instance.release();
  byDataDir.delete(key);
  const closing = instance.release().finally(() => closingDataDirs.delete(key));
  closingDataDirs.set(key, closing);
  return closing;
}

async function create(
  key: string | null,
  options: OpenDatabaseOptions,
  legacyDataDir?: string,
): Promise<Instance> {
  const started = performance.now();
  if (key === null) {
    const pglite = await PGlite.create();
    return { pglite, migrations: Promise.resolve(), refs: 1, release: () => pglite.close() };
  }
  const unlock = await lockDataDir(key);
  try {
    if (legacyDataDir !== undefined && legacyDataDir !== key) {
      // The old layout's lock too: a process of an older version may still be running on the old location.
      const unlockLegacy = await lockDataDir(legacyDataDir);
      try {
        await relocateLegacyPglite(legacyDataDir, key, options.logger);
      } finally {
        await unlockLegacy();
      }
    }
    await mkdir(key, { recursive: true });
    const pglite = await PGlite.create({ dataDir: key });
    options.logger?.info(
      { dataDir: key, durationMs: Math.round(performance.now() - started) },
      'PGlite opened',
    );
    return {
      pglite,
      migrations: Promise.resolve(),
      refs: 0,
      release: async () => {
        try {
          await pglite.close();
        } finally {
          await unlock();
        }
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

/**
 * Claims a PGlite data directory for this process with a `<dataDir>.lock` file holding our pid. PGlite does not
 * guard its files: a second process opening them would corrupt the database. A lock left by a dead process is
 * taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockFile = `${dataDir}.lock`;
  await mkdir(dirname(lockFile), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockFile, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(lockFile).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const pid = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
      throw new DatabaseError(
        'PGLITE_DATA_DIR_LOCKED',
        `The PGlite data directory ${dataDir} is in use by process ${pid} (${lockFile}). PGlite serves one ` +
          'process: run all subgraphs in that process, stop it, or set DATABASE_URL to use PostgreSQL.',
        { dataDir, lockFile, pid },
      );
    }
    // Stale: its process is gone (or it is our own leftover from a crash-free but unclean exit).
    await unlink(lockFile).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
