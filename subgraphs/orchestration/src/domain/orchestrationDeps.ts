import type { Envelope } from '@cap/events';
import type { Logger } from '@cap/runtime';
import type { LiveBus } from '@cap/live';
import type { SqlStatementCounter } from '../db.js';
import type { ExecutionStrategy, Prisma, PrismaClient } from '../generated/prisma/client.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export interface EventRecorder {
  record(tx: Tx, envelopes: Envelope[]): Promise<void>;
  /** Called after the transaction committed, so the relay publishes without waiting for its next poll. */
  committed(): void;
}

/** Settings the use cases read (from config.ts). */
export interface OrchestrationSettings {
  classificationTimeoutMs: number;
  defaultStrategy: ExecutionStrategy;
  maxExecutionAttempts: number;
  shellExecutorEnabled: boolean;
  logFlushIntervalMs: number;
  logFlushMaxLines: number;
  logLineMaxChars: number;
}

/** What orchestration's use cases need; built once in `app.ts` and shared by resolvers, consumers and workers. */
export interface OrchestrationDeps {
  prisma: PrismaClient;
  statements: SqlStatementCounter;
  live: LiveBus;
  events: EventRecorder;
  logger: Logger;
  settings: OrchestrationSettings;
}

/** One transaction and the effects to run once it committed (live notifications, waking workers). */
export interface UnitOfWork {
  tx: Tx;
  /** Runs `effect` after the commit; never when the transaction rolls back. Failures are logged, not thrown. */
  afterCommit(effect: () => unknown): void;
}

/** Runs `work` in one transaction with the events it records; after the commit, wakes the relay and runs effects. */
export async function inTransaction<T>(
  deps: OrchestrationDeps,
  work: (uow: UnitOfWork) => Promise<T>,
): Promise<T> {
  const effects: Array<() => unknown> = [];
  const result = await deps.prisma.$transaction((tx) =>
    work({ tx, afterCommit: (effect) => effects.push(effect) }),
  );
  deps.events.committed();
  runEffects(deps, effects);
  return result;
}

/** Runs post-commit effects; a failing one is logged and does not stop the others. */
export function runEffects(
  deps: Pick<OrchestrationDeps, 'logger'>,
  effects: ReadonlyArray<() => unknown>,
): void {
  for (const effect of effects) {
    try {
      const outcome = effect();
      if (outcome instanceof Promise)
        outcome.catch((error: unknown) => deps.logger.warn({ err: error }, 'post-commit effect failed'));
    } catch (error) {
      deps.logger.warn({ err: error }, 'post-commit effect failed');
    }
  }
}
