import type { Database } from './Database.js';

/** What a subgraph's PrismaClient is constructed with: its schema's adapter and the database's transaction limits. */
export interface SubgraphClientOptions {
  adapter: ReturnType<Database['adapterFor']>;
  /** Embedded PostgreSQL has one session: transactions queue, so their start may wait longer there. */
  transactionOptions: Database['transactionOptions'];
}

/**
 * Every subgraph's `open<Name>Db`: applies the subgraph's pending migrations when `migrate` is set, then builds its
 * Prisma client (`create`, e.g. `(options) => new PrismaClient(options)`, the generated class being the subgraph's
 * own) bound to `schema`.
 */
export async function openSubgraphClient<Client>(
  database: Database,
  options: { schema: string; migrationsDir: string; migrate: boolean },
  create: (clientOptions: SubgraphClientOptions) => Client,
): Promise<Client> {
  if (options.migrate)
    await database.migrate({ schema: options.schema, migrationsDir: options.migrationsDir });
  return create({
    adapter: database.adapterFor(options.schema),
    transactionOptions: database.transactionOptions,
  });
}
