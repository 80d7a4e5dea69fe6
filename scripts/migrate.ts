/**
 * `npm run db:migrate`: applies every subgraph's committed migrations, each into its own schema, to
 * DATABASE_URL (or, without it, to the embedded PostgreSQL under DATA_DIR, default `.data`). Subgraphs also do
 * this at start unless MIGRATE_ON_START=false; this command is for deployments that migrate in a separate step.
 */
import { join } from 'node:path';
import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { listSubgraphs } from './subgraphs.js';

const target = databaseTargetFromEnv({
  databaseUrl: process.env['DATABASE_URL'],
  dataDir: process.env['DATA_DIR'] ?? '.data',
});
const database = await openDatabase(target);
try {
  for (const subgraph of listSubgraphs()) {
    const { applied } = await database.migrate({
      schema: subgraph.schema,
      migrationsDir: join(subgraph.dir, 'prisma/migrations'),
    });
    process.stdout.write(
      `${subgraph.name}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}\n`,
    );
  }
} finally {
  await database.close();
}
