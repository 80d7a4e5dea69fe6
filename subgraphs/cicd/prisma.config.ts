import { defineConfig } from 'prisma/config';

const SCHEMA = 'cicd';

/**
 * Prisma 7 reads no .env: the CLI takes the URL from here. `?schema=cicd` keeps this subgraph's migration
 * history in its own schema, whatever DATABASE_URL says (docs/adr/0002).
 */
function datasourceUrl(): string | undefined {
  const raw = process.env['DATABASE_URL'];
  if (raw === undefined || raw === '') return undefined;
  const url = new URL(raw);
  url.searchParams.set('schema', SCHEMA);
  return url.toString();
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: datasourceUrl() },
});
