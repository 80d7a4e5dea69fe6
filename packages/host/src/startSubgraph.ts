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

/** What a subgraph's start body is given: its start options, its opened store, and the scope to register in. */
export interface SubgraphStart<TOptions, TPrisma extends PrismaClientLike> {
  options: TOptions;
  store: SubgraphStore<TPrisma>;
  scope: Shutdown;
}

/**
 * Starts a subgraph the way every subgraph starts: in one scope (`startScoped`: a start that fails halfway releases
 * what it opened, `close()` releases the rest newest first), with its store opened first
 * ({@link openSubgraphStore}: `open` on the shared database, migrating when MIGRATE_ON_START). `run` opens the
 * rest, registering each resource in `scope` right after it opens.
 */
export function startSubgraph<
  TOptions extends SubgraphStartOptions<{ MIGRATE_ON_START: boolean }>,
  TPrisma extends PrismaClientLike,
  TStarted extends object,
>(
  subgraph: {
    /** The subgraph's name, the prefix of its disposers' names. */
    name: string;
    /** Its schema of the shared database. */
    schema: string;
    /** Opens its Prisma client on the database (`openXDb(database, { migrate })` of its `db.ts`). */
    open: (database: Database, dbOptions: { migrate: boolean }) => Promise<TPrisma>;
    options: TOptions;
    /** The outbox relay's poll interval, ms (the relay's default otherwise). */
    relayPollIntervalMs?: number;
  },
  run: (start: SubgraphStart<TOptions, TPrisma>) => Promise<TStarted>,
): Promise<Started<TStarted>> {
  const { options } = subgraph;
  return startScoped(options.logger, async (scope) => {
    const store = await openSubgraphStore({
      name: subgraph.name,
      open: () => subgraph.open(options.database, { migrate: options.config.MIGRATE_ON_START }),
      schema: subgraph.schema,
      bus: options.bus,
      logger: options.logger,
      scope,
      ...(subgraph.relayPollIntervalMs === undefined
        ? {}
        : { relayPollIntervalMs: subgraph.relayPollIntervalMs }),
    });
    return run({ options, store, scope });
  });
}
