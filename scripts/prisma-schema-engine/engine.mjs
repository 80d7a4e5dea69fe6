/**
 * Prisma's schema engine, compiled to WebAssembly (`@prisma/schema-engine-wasm`), driven through
 * `@prisma/adapter-pg` against a real PostgreSQL server.
 *
 * Why: Prisma 7's CLI downloads a native `schema-engine` binary before every command, which cannot happen on a
 * machine without internet. The same engine, built from the same commit as our pinned `prisma`, ships on npm as
 * WebAssembly; it needs a driver adapter instead of a URL. This module is that adapter, with the gaps we found
 * between what the wasm engine asks and what `@prisma/adapter-pg` gives (see docs/adr/0002):
 *
 * - `?schema=` in the URL: the native engine sets `search_path` and keeps `_prisma_migrations` there; here the
 *   parameter is stripped from the connection string, sent as `search_path` on every connection and reported as
 *   the adapter's `schemaName`.
 * - `executeScript` in adapter-pg splits on `;`, which breaks `$$` function bodies: we send the whole script in one
 *   simple-protocol query, as the native engine does.
 * - adapter-pg does not map PostgreSQL's internal `"char"` type (OID 18), which the engine's catalog queries
 *   return: such columns are reported as `text`.
 * - shadow databases: created fresh for each use on the same server (or `shadowDatabaseUrl`'s server) and dropped
 *   with `WITH (FORCE)` when the engine lets go of them, so a shadow database is never reused dirty.
 *
 * It leans on adapter-pg's behaviour, so `prisma`, `@prisma/adapter-pg`, `@prisma/driver-adapter-utils` and
 * `@prisma/schema-engine-wasm` are pinned together in the root package.json.
 */
/* global WebAssembly */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError, bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);
// The very `pg` that adapter-pg imports, so our Client subclass and its Pool are the same classes it uses.
const pg = createRequire(require.resolve('@prisma/adapter-pg')).call(null, 'pg');

/** PostgreSQL's internal single-byte `"char"` type, returned by catalog columns such as `pg_class.relkind`. */
const PG_INTERNAL_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/** Identifiers we accept as schema names: what Prisma's `@@schema` and our subgraph names use. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The engine commit our pinned `@prisma/schema-engine-wasm` was built from (`prisma version` shows it). */
export async function engineVersion() {
  const bg = await loadWasm();
  return bg.version();
}

/**
 * The wasm engine reports a Rust panic's message through this global before trapping; without it the panic
 * itself crashes with "Cannot read properties of undefined (reading 'set_message')".
 */
const panics = { last: /** @type {string | undefined} */ (undefined) };
globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
  set_message(message) {
    panics.last = message;
  },
};

/** The message of the last Rust panic in the engine, if any: a trapped call rejects with a bare RuntimeError. */
export function takePanicMessage() {
  const message = panics.last;
  panics.last = undefined;
  return message;
}

let wasmModule;
/**
 * Instantiates the wasm engine once. Its package entry imports the `.wasm` file as an ES module, which Node 20
 * cannot do without a flag, so we instantiate the binary ourselves against the package's own JS glue.
 */
async function loadWasm() {
  wasmModule ??= (async () => {
    const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = require
      .resolve('@prisma/schema-engine-wasm')
      .replace(/schema_engine\.js$/, 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      './schema_engine_bg.js': bg,
    });
    bg.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return bg;
  })();
  return wasmModule;
}

/**
 * Splits a Prisma datasource URL into what `pg` understands and the `schema` parameter Prisma adds.
 * @param {string} url
 * @returns {{ connectionString: string; schema: string }}
 */
export function parseDatasourceUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `The datasource URL is not a URL: expected postgres://user@host:port/database, got "${redact(url)}".`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(
      `Only PostgreSQL URLs are supported offline: expected postgres://..., got "${parsed.protocol}//...".`,
    );
  }
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(
      `Invalid ?schema= in the datasource URL: expected an identifier like "identity", got "${schema}".`,
    );
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/** Hides the password of a connection string in messages. */
export function redact(url) {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/** A `pg.Client` whose results report `"char"` columns as `text`, which adapter-pg can map. */
class CatalogSafeClient extends pg.Client {
  query(...args) {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last];
      args[last] = (error, result) => callback(error, error ? result : retypeInternalChar(result));
      return super.query(...args);
    }
    const pending = super.query(...args);
    return pending && typeof pending.then === 'function' ? pending.then(retypeInternalChar) : pending;
  }
}

function retypeInternalChar(result) {
  for (const each of Array.isArray(result) ? result : [result]) {
    for (const field of each?.fields ?? []) {
      if (field.dataTypeID === PG_INTERNAL_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
  }
  return result;
}

function poolConfig(connectionString, schema) {
  return {
    connectionString,
    max: 4,
    Client: CatalogSafeClient,
    // What the native engine does with ?schema=: unqualified names in migrations land in the subgraph's schema.
    options: `-c search_path=${schema}`,
  };
}

/** Maps a `pg` error to the shape the engine's error registry understands, keeping PostgreSQL's own message. */
function toDriverAdapterError(error) {
  if (
    error &&
    typeof error === 'object' &&
    typeof error.code === 'string' &&
    typeof error.severity === 'string'
  ) {
    return new DriverAdapterError({
      kind: 'postgres',
      code: error.code,
      severity: error.severity,
      message: error.message,
      detail: error.detail,
      column: error.column,
      hint: error.hint,
      originalCode: error.code,
      originalMessage: error.message,
    });
  }
  return error;
}

/**
 * Adjusts an adapter-pg adapter in place: whole-script execution and the schema name the engine must use.
 */
function patchAdapter(adapter, schema, onDispose) {
  const pool = adapter.underlyingDriver();
  const dispose = adapter.dispose.bind(adapter);
  adapter.executeScript = async (script) => {
    try {
      // No parameters: pg uses the simple query protocol, which runs a multi-statement script as is.
      await pool.query(script);
    } catch (error) {
      throw toDriverAdapterError(error);
    }
  };
  adapter.getConnectionInfo = () => ({ schemaName: schema, supportsRelationJoins: true });
  adapter.dispose = async () => {
    await dispose();
    await onDispose?.();
  };
  return adapter;
}

/** Runs `fn` with a short-lived client on the server's maintenance database (`postgres`). */
async function withServerClient(connectionString, fn) {
  const url = new URL(connectionString);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A migration-aware driver adapter factory for the wasm engine.
 * @param {{ url: string; shadowDatabaseUrl?: string | undefined }} datasource
 */
export function createAdapterFactory(datasource) {
  const { connectionString, schema } = parseDatasourceUrl(datasource.url);
  const shadowServer = datasource.shadowDatabaseUrl
    ? parseDatasourceUrl(datasource.shadowDatabaseUrl).connectionString
    : connectionString;

  const open = async (target, onDispose) => {
    const config = poolConfig(target, schema);
    const factory = new PrismaPg(config, { schema });
    const adapter = await factory.connect();
    return patchAdapter(adapter, schema, onDispose);
  };

  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => open(connectionString),
    /**
     * A brand-new database per request: the engine replays the whole migration history into it, so it must
     * start empty, and it must go away even when the replay fails.
     */
    connectToShadowDb: async () => {
      const name = `prisma_shadow_${Date.now()}_${randomBytes(4).toString('hex')}`;
      await withServerClient(shadowServer, (client) => client.query(`CREATE DATABASE "${name}"`));
      const url = new URL(shadowServer);
      url.pathname = `/${name}`;
      return open(url.toString(), () =>
        withServerClient(shadowServer, (client) =>
          client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
        ),
      );
    },
  };
}

/**
 * Creates the database named in `url` when it does not exist (what `prisma migrate dev` asks the engine first).
 * @returns {Promise<string | null>} the created database's name, or null if it existed.
 */
export async function createDatabaseIfMissing(url) {
  const { connectionString } = parseDatasourceUrl(url);
  const database = decodeURIComponent(new URL(connectionString).pathname.slice(1));
  return withServerClient(connectionString, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return null;
    await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    return database;
  });
}

/** Runs a SQL script on the database of `url` in one simple-protocol query (`prisma db execute --url`). */
export async function executeScriptOn(url, script) {
  const { connectionString, schema } = parseDatasourceUrl(url);
  const client = new pg.Client(poolConfig(connectionString, schema));
  await client.connect();
  try {
    await client.query(script);
  } finally {
    await client.end();
  }
}

/**
 * Starts the wasm schema engine over PostgreSQL.
 * @param {{ datamodels: Array<[string, string]>; datasource: { url: string; shadowDatabaseUrl?: string } ; log?: (line: string) => void }} options
 */
export async function openSchemaEngine({ datamodels, datasource, log = () => {} }) {
  const bg = await loadWasm();
  const factory = bindMigrationAwareSqlAdapterFactory(createAdapterFactory(datasource));
  const engine = await bg.SchemaEngine.new({ datamodels }, log, factory);
  return engine;
}
