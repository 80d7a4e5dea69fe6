import { defineConfig } from 'prisma/config';

// Prisma 7 reads no .env: the CLI takes the URL from here. `?schema=identity` keeps this subgraph's
// migration history in its own schema (docs/adr/0002).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres?schema=identity',
  },
});
