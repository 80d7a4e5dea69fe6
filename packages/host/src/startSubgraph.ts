import type { Database } from '@cap/db';
import type { RunningSubgraph, Shutdown } from '@cap/runtime';
import { startScoped, type Started } from '@cap/runtime/kit';
import type { SubgraphStartOptions } from './runSubgraphProcess.js';
import { openSubgraphStore, type PrismaClientLike, type SubgraphStore } from './subgraphStore.js';

/** What every subgraph's start returns: its server, its dependencies, and the one way to release both. */
export interface StartedSubgraph<TDeps> {
  subgraph: RunningSubgraph;
  deps: TDeps;
  /** Releases everything the start opened, newest first. */
  close(): Promise<void>;
}

/**
 * Starts a subgraph the way every subgraph starts: in one scope (`startScoped`: a start that fails halfway releases
 * what it opened, `close()` releases the rest newest first), with its store opened first
 * ({@link openSubgraphStore}: `open` on the shared database, migrating when MIGRATE_ON_START). `run` opens the
 * rest, registering each resource in `scope` right after it opens.
 */
export function startSubgraph<TPrisma extends PrismaClientLike, TStarted extends object>(
  options: {
    /** The subgraph's name, the prefix of its disposers' names. */
    name: string;
    /** Its schema of the shared database. */
    schema: string;
    /** Opens its Prisma client on the database (`openXDb(database, { migrate })` of its `db.ts`). */
    open: (database: Database, options: { migrate: boolean }) => Promise<TPrisma>;
    start: SubgraphStartOptions<{ MIGRATE_ON_START: boolean }>;
    /** The outbox relay's poll interval, ms (the relay's default otherwise). */
    relayPollIntervalMs?: number;
  },
  run: (store: SubgraphStore<TPrisma>, scope: Shutdown) => Promise<TStarted>,
): Promise<Started<TStarted>> {
  const { start } = options;
  return startScoped(start.logger, async (scope) => {
    const store = await openSubgraphStore({
      name: options.name,
      open: () => options.open(start.database, { migrate: start.config.MIGRATE_ON_START }),
      schema: options.schema,
      bus: start.bus,
      logger: start.logger,
      scope,
      ...(options.relayPollIntervalMs === undefined
        ? {}
        : { relayPollIntervalMs: options.relayPollIntervalMs }),
    });
    return run(store, scope);
  });
}
