/**
 * The Prisma CLI configuration of a subgraph (its `prisma.config.ts`), one definition for all of them:
 *
 * ```ts
 * import { subgraphPrismaConfig } from '@cap/db/prisma-config';
 * import { defineConfig } from 'prisma/config';
 *
 * export default defineConfig(subgraphPrismaConfig('cicd'));
 * ```
 *
 * Plain JavaScript with its types beside it (prisma-config.d.mts), outside `src/`: Prisma's own loader reads
 * `prisma.config.ts` without the workspace's `source` export condition and before anything is built, so this
 * module must load as it is. Prisma 7 reads no .env: the CLI takes the URL from DATABASE_URL here, with
 * `?schema=<schema>`, so that each subgraph keeps its migration history in its own schema whatever DATABASE_URL
 * says (docs/adr/0002).
 *
 * @param {string} schema the subgraph's PostgreSQL schema (its manifest's `subgraph.schema`)
 * @param {Record<string, string | undefined>} [env] where DATABASE_URL is read (default `process.env`)
 */
export function subgraphPrismaConfig(schema, env = process.env) {
  return {
    schema: 'prisma/schema.prisma',
    migrations: { path: 'prisma/migrations' },
    datasource: { url: subgraphDatasourceUrl(schema, env['DATABASE_URL']) },
  };
}

/**
 * `databaseUrl` with its `schema` query parameter set to `schema`; undefined when the URL is unset or empty.
 *
 * @param {string} schema
 * @param {string | undefined} databaseUrl
 * @returns {string | undefined}
 */
export function subgraphDatasourceUrl(schema, databaseUrl) {
  if (databaseUrl === undefined || databaseUrl === '') return undefined;
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
}
