import { openSubgraphClient, type Database } from '@cap/db';
import { PrismaClient } from './generated/prisma/client.js';

/** Orchestration's PostgreSQL schema: every table it owns lives here, in either database mode. */
export const SCHEMA = 'orchestration';

/** Orchestration's committed migrations (Prisma layout), resolved from `src/` and `dist/` alike. */
export const MIGRATIONS_DIR = new URL('../prisma/migrations', import.meta.url).pathname;

/** A Prisma client that also counts the SQL statements it sends (see {@link SqlStatementCounter}). */
export interface OrchestrationDb {
  prisma: PrismaClient;
  statements: SqlStatementCounter;
}

/**
 * How many SQL statements this process sent through Prisma: the N+1 tests compare it across list sizes and
 * the task-log benchmark divides it by lines written.
 */
export class SqlStatementCounter {
  #count = 0;
  /** Statements sent since the client was opened. */
  get count(): number {
    return this.#count;
  }
  /** @internal Called for every statement. */
  increment(): void {
    this.#count += 1;
  }
}

/**
 * Applies pending migrations, then returns a Prisma client bound to orchestration's schema, counting its statements
 * in `statements` (a new counter unless given).
 */
export async function openOrchestrationDb(
  database: Database,
  options: { migrate: boolean; statements?: SqlStatementCounter },
): Promise<OrchestrationDb> {
  const prisma = await openSubgraphClient(
    database,
    { schema: SCHEMA, migrationsDir: MIGRATIONS_DIR, migrate: options.migrate },
    (clientOptions) => new PrismaClient({ ...clientOptions, log: [{ emit: 'event', level: 'query' }] }),
  );
  const statements = options.statements ?? new SqlStatementCounter();
  prisma.$on('query', () => statements.increment());
  return { prisma, statements };
}
