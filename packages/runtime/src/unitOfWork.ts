import type { Logger } from './logger.js';

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export interface EventRecorder<Tx, Event = unknown> {
  record(tx: Tx, events: Event[]): Promise<void>;
  /** Called after the transaction committed, so the relay publishes without waiting for its next poll. */
  committed(): void;
}

/** One transaction and the effects to run once it committed (live notifications, cache updates, waking workers). */
export interface UnitOfWork<Tx> {
  tx: Tx;
  /** Runs `effect` after the commit; never when the transaction rolls back. Failures are logged, not thrown. */
  afterCommit(effect: () => unknown): void;
}

/**
 * Limits of one interactive transaction, ms (Prisma's `$transaction` options): how long to wait for a connection
 * (`maxWait`) and how long the transaction may run before it is rolled back (`timeout`). Absent: the client's
 * defaults (the database's `transactionOptions`).
 */
export interface TransactionLimits {
  maxWait?: number | undefined;
  timeout?: number | undefined;
}

/** What a unit of work runs on: a client that opens transactions (Prisma's `$transaction`), the outbox, a logger. */
export interface UnitOfWorkDeps<Tx> {
  prisma: { $transaction<T>(work: (tx: Tx) => Promise<T>, options?: TransactionLimits): Promise<T> };
  events: Pick<EventRecorder<Tx, never>, 'committed'>;
  logger: Pick<Logger, 'warn'>;
}

/**
 * Runs `work` in one transaction together with the events it records; after the commit, wakes the outbox relay
 * and runs the effects `work` registered. A rollback runs no effect and wakes nothing. `limits` overrides the
 * client's transaction limits for this transaction.
 */
export async function inTransaction<Tx, T>(
  deps: UnitOfWorkDeps<Tx>,
  work: (uow: UnitOfWork<Tx>) => Promise<T>,
  limits?: TransactionLimits,
): Promise<T> {
  const effects: Array<() => unknown> = [];
  const run = (tx: Tx) => work({ tx, afterCommit: (effect) => effects.push(effect) });
  const result = await (limits ? deps.prisma.$transaction(run, limits) : deps.prisma.$transaction(run));
  deps.events.committed();
  runEffects(deps.logger, effects);
  return result;
}

/** Runs post-commit effects; a failing one is logged and does not stop the others. */
export function runEffects(logger: Pick<Logger, 'warn'>, effects: ReadonlyArray<() => unknown>): void {
  for (const effect of effects) {
    try {
      const outcome = effect();
      if (outcome instanceof Promise)
        outcome.catch((error: unknown) => logger.warn({ err: error }, 'post-commit effect failed'));
    } catch (error) {
      logger.warn({ err: error }, 'post-commit effect failed');
    }
  }
}
