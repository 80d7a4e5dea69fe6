/**
 * Regenerates every generated artefact, in dependency order (docs/CONVENTIONS.md §4):
 *   1. Prisma clients of every subgraph (`subgraphs/<name>/src/generated/prisma`),
 *   2. each subgraph's printed SDL (`subgraphs/<name>/schema.graphql`),
 *   3. the supergraph (`schema/supergraph.graphql`) and the public API schema (`schema/api.graphql`),
 *   4. GraphQL Code Generator output over the API schema (`web/src/generated/graphql.ts`).
 * `--check` regenerates, then fails when any committed artefact differs (CI drift check).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { ROUTER_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from '@apollo/federation-internals';
import { printSubgraphSchema } from '@apollo/subgraph';
import { lexicographicSortSchema, parse, printSchema, type GraphQLSchema } from 'graphql';
import { listSubgraphs, root } from './subgraphs.js';

const check = process.argv.includes('--check');

function step(message: string): void {
  process.stdout.write(`• ${message}\n`);
}

async function writeIfChanged(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return;
  writeFileSync(file, content);
}

async function main(): Promise<void> {
  const subgraphs = listSubgraphs();

  for (const subgraph of subgraphs) {
    step(`prisma generate (${subgraph.name})`);
    execFileSync(process.execPath, [join(root, 'scripts/prisma.mjs'), 'generate'], {
      cwd: subgraph.dir,
      stdio: 'inherit',
    });
  }

  const services = [];
  for (const subgraph of subgraphs) {
    step(`print SDL (${subgraph.name})`);
    const module = (await import(pathToFileURL(join(subgraph.dir, subgraph.schemaModule)).href)) as {
      schema: GraphQLSchema;
    };
    const sdl = `${printSubgraphSchema(module.schema).trim()}\n`;
    await writeIfChanged(join(subgraph.dir, 'schema.graphql'), sdl);
    services.push({ name: subgraph.name, url: subgraph.routingUrl, typeDefs: parse(sdl) });
  }

  step('compose supergraph');
  const composed = composeServices(services);
  if (composed.errors) {
    for (const error of composed.errors) process.stderr.write(`composition error: ${error.message}\n`);
    process.exit(1);
  }
  const supergraphSdl = `${composed.supergraphSdl.trim()}\n`;
  await writeIfChanged(join(root, 'schema/supergraph.graphql'), supergraphSdl);
  // The subgraphs declare access (`@authenticated`, `@requiresScopes`, `@policy`: features `for: SECURITY`) and cost
  // (`@cost`, `@listSize`); the default feature set refuses security features it does not enforce. The router
  // enforces them, so the API schema is built with the features the router supports, as the router builds it.
  const apiSchema = Supergraph.build(supergraphSdl, {
    supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES,
  })
    .apiSchema()
    .toGraphQLJSSchema();
  await writeIfChanged(
    join(root, 'schema/api.graphql'),
    `${printSchema(lexicographicSortSchema(apiSchema)).trim()}\n`,
  );

  step('graphql-codegen');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts', '--silent'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );

  if (check) {
    step('check Prisma schemas against their migrations');
    execFileSync(
      process.execPath,
      [join(root, 'scripts/prisma.mjs'), 'migrate:check', ...subgraphs.map((s) => s.dir)],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    step('check for drift');
    const paths = [
      'schema',
      ':(glob)subgraphs/*/schema.graphql',
      ':(glob)subgraphs/*/src/generated/**',
      'web/src/generated',
    ];
    const changed = execFileSync('git', ['status', '--porcelain', '--', ...paths], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    if (changed.length > 0) {
      process.stderr.write(
        `Generated artefacts differ from the committed ones. Run \`npm run generate\` and commit:\n${changed.join('\n')}\n`,
      );
      process.exit(1);
    }
    step('no drift');
  }
}

await main();
