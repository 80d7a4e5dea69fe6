import { prismaExecutor, type PrismaSqlExecutor } from '@cap/db';
import { outboxRecorder, OutboxRelay, ProcessedEventsPurger, type EventBus } from '@cap/messaging';
import type { Logger, Shutdown } from '@cap/runtime';

/** A Prisma client the SQL executor can run on and the scope can disconnect. */
export type PrismaClientLike = Parameters<typeof prismaExecutor>[0] & { $disconnect(): Promise<void> };

/** A subgraph's own schema of the shared database, with the outbox its use cases record events in. */
export interface SubgraphStore<TPrisma extends PrismaClientLike> {
  prisma: TPrisma;
  /** Raw SQL on the same client (outbox, processed-event marks). */
  sql: PrismaSqlExecutor;
  /** Publishes committed outbox rows to the bus once `startRelay` ran. */
  relay: OutboxRelay;
  /** What the use cases record their events with (in their transaction), waking the relay on commit. */
  events: ReturnType<typeof outboxRecorder<Parameters<typeof prismaExecutor>[0]>>;
  /** Starts the relay and registers its stop; called once whatever must precede publishing is done. */
  startRelay(): void;
  /** Starts purging this schema's processed-event marks older than `retentionMs` and registers its close. */
  startPurger(retentionMs: number): void;
}

/**
 * Opens what every subgraph's start opens first on its schema (`schema`): the Prisma client `open` returns,
 * registered in `scope` at once as `<name> prisma`, the SQL executor over it, and its outbox relay and recorder.
 * The relay and the purger register as `<name> outbox relay` and `<name> processed-events purger` when started.
 */
export async function openSubgraphStore<TPrisma extends PrismaClientLike>(options: {
  /** The subgraph's name, the prefix of its disposers' names. */
  name: string;
  open: () => Promise<TPrisma>;
  schema: string;
  bus: EventBus;
  logger: Logger;
  scope: Shutdown;
  /** The relay's poll interval, ms (the relay's default otherwise). */
  relayPollIntervalMs?: number;
}): Promise<SubgraphStore<TPrisma>> {
  const { name, schema, logger, scope } = options;
  const prisma = await options.open();
  scope.add(`${name} prisma`, () => prisma.$disconnect());
  const sql = prismaExecutor(prisma);
  const relay = new OutboxRelay({
    sql,
    schema,
    bus: options.bus,
    logger,
    ...(options.relayPollIntervalMs === undefined ? {} : { pollIntervalMs: options.relayPollIntervalMs }),
  });
  return {
    prisma,
    sql,
    relay,
    events: outboxRecorder({ schema, relay, sql: prismaExecutor }),
    startRelay: () => {
      relay.start();
      scope.add(`${name} outbox relay`, () => relay.stop());
    },
    startPurger: (retentionMs) => {
      const purger = new ProcessedEventsPurger({ sql, schema, retentionMs, logger }).start();
      scope.add(`${name} processed-events purger`, () => purger.close());
    },
  };
}
