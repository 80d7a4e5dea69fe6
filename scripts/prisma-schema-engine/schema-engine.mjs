#!/usr/bin/env node
/**
 * A stand-in for Prisma's native `schema-engine` executable, for machines that cannot download it.
 *
 * The stock Prisma CLI spawns the engine as `schema-engine [--datamodels <file>]... [--datasource <json>]` and
 * talks JSON-RPC 2.0 over stdio, one message per line; a few checks run it as `schema-engine --datasource <json>
 * cli <command>` instead. This program speaks that protocol and forwards every method to the same engine compiled
 * to WebAssembly (see ./engine.mjs). `scripts/prisma.mjs` points `PRISMA_SCHEMA_ENGINE_BINARY` here.
 *
 * Logs go to stderr as the native engine's JSON lines, which the CLI parses for error codes.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  createDatabaseIfMissing,
  engineVersion,
  executeScriptOn,
  openSchemaEngine,
  parseDatasourceUrl,
  redact,
  takePanicMessage,
} from './engine.mjs';

/** JSON-RPC error code the native engine uses for every engine error (the details are in `data`). */
const ENGINE_ERROR = 4466;
const METHOD_NOT_FOUND = -32601;
const PG_DATABASE_DOES_NOT_EXIST = '3D000';
/** `diff` with `exitCode: true` answers 2 when the two sides differ. */
const DIFF_CHANGES = 2;

/** Methods the wasm engine implements under the same name and parameters as the native one. */
const FORWARDED = new Set([
  'applyMigrations',
  'debugPanic',
  'devDiagnostic',
  'diagnoseMigrationHistory',
  'ensureConnectionValidity',
  'introspect',
  'introspectSql',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'reset',
  'schemaPush',
]);

function log(level, fields) {
  process.stderr.write(
    `${JSON.stringify({ timestamp: new Date().toISOString(), level, fields, target: 'schema_engine::logger' })}\n`,
  );
}

function parseArgs(argv) {
  const args = { datamodels: [], datasource: undefined, cli: undefined, version: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--datamodels' || arg === '-d') args.datamodels.push(argv[++i]);
    else if (arg === '--datasource') args.datasource = JSON.parse(argv[++i]);
    else if (arg === '--enabled-preview-features' || arg === '--extension-types')
      i++; // nothing to do in wasm
    else if (arg === '--version' || arg === '-V') args.version = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === 'cli') args.cli = argv[++i];
    else throw new Error(`Unknown argument "${arg}".`);
  }
  return args;
}

/**
 * Strips the Rust span trace the wasm engine appends ("   0: sql_schema_connector::... at ...rs:113"): it points
 * into the engine, not at the user's problem. The one useful thing in it, the failing migration's name, is kept.
 */
function cleanMessage(message) {
  const text = String(message);
  const migration = text.match(/migration_name="([^"]+)"/)?.[1];
  const cleaned = text.replace(/\n\s+0: [a-z_]+::[\s\S]*$/, '').trimEnd();
  return migration && !cleaned.includes(migration)
    ? `Migration ${migration} failed to apply:\n${cleaned}`
    : cleaned;
}

function errorResponse(id, error) {
  const panic = takePanicMessage();
  if (panic !== undefined) {
    const data = {
      is_panic: true,
      message: panic,
      error: { message: panic },
      backtrace: String(error?.stack ?? ''),
    };
    return {
      jsonrpc: '2.0',
      id,
      error: { code: ENGINE_ERROR, message: 'The schema engine panicked.', data },
    };
  }
  const message = cleanMessage(error?.message ?? error);
  const data = { is_panic: false, message, meta: error?.meta ?? {} };
  if (typeof error?.code === 'string' && /^P\d{4}$/.test(error.code)) data.error_code = error.code;
  return {
    jsonrpc: '2.0',
    id,
    error: { code: ENGINE_ERROR, message: 'An error happened. Check the data field for details.', data },
  };
}

/**
 * The wasm engine's `createMigration` and `evaluateDataLoss` do not open a shadow database themselves ("PostgreSQL
 * shadow DB must be provided through an external factory"), while its `diff` from a migrations folder does. Both
 * are therefore built on `diff`: the same migration script, from the same replay.
 */
async function diffFromHistory(engine, migrationsList, schema, filters) {
  const result = await engine.diff({
    from: { tag: 'migrations', ...migrationsList },
    to: { tag: 'schemaDatamodel', ...schema },
    script: true,
    exitCode: true,
    filters,
  });
  return { changed: result.exitCode === DIFF_CHANGES, script: result.stdout ?? '' };
}

/** Prisma's migration folder stamp: UTC `YYYYMMDDHHMMSS`. */
function migrationTimestamp(date = new Date()) {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function createMigration(engine, { draft, migrationName, migrationsList, schema, filters }) {
  const { changed, script } = await diffFromHistory(engine, migrationsList, schema, filters);
  const slug = String(migrationName ?? '')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return {
    connectorType: 'postgresql',
    generatedMigrationName: slug ? `${migrationTimestamp()}_${slug}` : migrationTimestamp(),
    migrationScript: changed ? script : draft ? '-- This is an empty migration.' : null,
    extension: 'sql',
  };
}

/**
 * Only the number of steps matters to the CLI's flow (whether `migrate dev` creates a migration); data-loss
 * warnings are not computed offline, see docs/adr/0002.
 */
async function evaluateDataLoss(engine, { migrationsList, schema, filters }) {
  const { changed, script } = await diffFromHistory(engine, migrationsList, schema, filters);
  const migrationSteps = changed ? Math.max(1, script.match(/^-- [A-Z]\w+$/gm)?.length ?? 0) : 0;
  return { migrationSteps, unexecutableSteps: [], warnings: [] };
}

/** `schema-engine --datasource <json> cli <command>`: the CLI's database existence checks. */
async function runCliCommand(command, datasource) {
  const url = datasource?.url;
  if (!url)
    throw Object.assign(new Error('No datasource URL was given to the schema engine.'), { code: 'P1012' });
  if (command === 'create-database') {
    await createDatabaseIfMissing(url);
    return;
  }
  if (command === 'can-connect-to-database') {
    try {
      await executeScriptOn(url, 'SELECT 1');
    } catch (error) {
      const database = new URL(parseDatasourceUrl(url).connectionString).pathname.slice(1);
      if (error?.code === PG_DATABASE_DOES_NOT_EXIST) {
        throw Object.assign(new Error(`Database \`${database}\` does not exist`), { code: 'P1003' });
      }
      throw Object.assign(
        new Error(`Can't reach database server at ${redact(url)}: ${error?.message ?? error}`),
        {
          code: 'P1001',
        },
      );
    }
    return;
  }
  throw new Error(`Unsupported schema-engine cli command "${command}".`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    process.stdout.write(`schema-engine-cli ${await engineVersion()}\n`);
    return;
  }
  if (args.help) {
    process.stdout.write(
      "Offline stand-in for Prisma's schema-engine (see scripts/prisma-schema-engine/).\n",
    );
    return;
  }
  if (args.cli) {
    // The CLI parses stderr as JSON lines and skips the first one, which the native engine spends on this.
    log('INFO', { message: `Starting schema engine CLI command ${args.cli}` });
    try {
      await runCliCommand(args.cli, args.datasource);
    } catch (error) {
      log('ERROR', { message: cleanMessage(error?.message ?? error), error_code: error?.code });
      process.exitCode = 1;
    }
    return;
  }

  const datamodels = await Promise.all(
    args.datamodels.map(
      async (path) => /** @type {[string, string]} */ ([path, await readFile(path, 'utf8')]),
    ),
  );
  // The CLI starts the engine without schema files for some commands (`migrate diff`); the native engine copes,
  // the wasm one panics ("validate_multi_file() must be called with at least one file"). A bare datasource block
  // stands in: commands that need a real schema receive it in their parameters.
  if (datamodels.length === 0)
    datamodels.push(['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']);
  // Commands that never touch a database (diff between two schema files) run without a URL; the adapter then
  // fails only if the engine actually tries to connect.
  const datasource = args.datasource?.url ? args.datasource : { url: 'postgres://unconfigured.invalid/none' };
  const engine = await openSchemaEngine({
    datamodels,
    datasource,
    log: (line) => process.stderr.write(`${line}\n`),
  });

  // Requests we send to the CLI (the native engine prints `migrate diff` output that way), by id.
  const printed = new Map();
  let nextPrintId = 1;
  const print = (content) =>
    new Promise((resolvePrint) => {
      const id = `print-${nextPrintId++}`;
      printed.set(id, resolvePrint);
      process.stdout.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method: 'print', params: { content } })}\n`,
      );
    });

  const handle = async (request) => {
    const { method, params } = request;
    if (method === 'diff') {
      // The wasm engine returns the diff in `stdout`; the CLI expects the native engine's behaviour: a `print`
      // request carrying the text, and a result without it.
      const result = await engine.diff(params);
      if (typeof result.stdout === 'string' && result.stdout !== '') await print(result.stdout);
      return { ...result, stdout: null };
    }
    if (method === 'createMigration') return createMigration(engine, params);
    if (method === 'evaluateDataLoss') return evaluateDataLoss(engine, params);
    if (FORWARDED.has(method)) return engine[method](params);
    switch (method) {
      case 'version':
      case 'getDatabaseVersion':
        return engine.version(params ?? null);
      case 'createDatabase': {
        await createDatabaseIfMissing(datasource.url);
        const { connectionString } = parseDatasourceUrl(datasource.url);
        return { databaseName: decodeURIComponent(new URL(connectionString).pathname.slice(1)) };
      }
      case 'dbExecute': {
        const target = params.datasourceType?.tag === 'url' ? params.datasourceType.url : datasource.url;
        await executeScriptOn(target, params.script);
        return {};
      }
      default:
        throw Object.assign(new Error(`Method "${method}" is not supported by the offline schema engine.`), {
          rpcCode: METHOD_NOT_FOUND,
        });
    }
  };

  const pending = new Set();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      log('ERROR', { message: `Could not parse JSON-RPC request: ${line.slice(0, 200)}` });
      continue;
    }
    if (request.method === undefined && printed.has(request.id)) {
      printed.get(request.id)();
      printed.delete(request.id);
      continue;
    }
    const work = handle(request)
      .then(
        (result) => ({ jsonrpc: '2.0', id: request.id, result: result ?? {} }),
        (error) =>
          error?.rpcCode
            ? { jsonrpc: '2.0', id: request.id, error: { code: error.rpcCode, message: error.message } }
            : errorResponse(request.id, error),
      )
      .then((response) => {
        process.stdout.write(`${JSON.stringify(response)}\n`);
      });
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }
  await Promise.all(pending);
}

process.on('uncaughtException', (error) => {
  const panic = takePanicMessage();
  log('ERROR', { message: panic ?? cleanMessage(error?.message ?? error), is_panic: panic !== undefined });
  process.exit(101);
});

main().then(
  // The wasm engine keeps timers alive for a while after its last call; the CLI waits for our exit.
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    log('ERROR', { message: cleanMessage(error?.message ?? error) });
    process.exit(1);
  },
);
