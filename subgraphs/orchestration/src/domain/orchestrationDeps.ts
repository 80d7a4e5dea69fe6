import type { Envelope } from '@cap/events';
import type { Logger } from '@cap/runtime';
import type { LiveBus } from '@cap/live';
import type {
  EventRecorder as KitEventRecorder,
  TransactionLimits,
  UnitOfWork as KitUnitOfWork,
} from '@cap/runtime/kit';
import type { SqlStatementCounter } from '../db.js';
import type { ExecutionStrategy, Prisma, PrismaClient } from '../generated/prisma/client.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** One transaction and the effects to run once it committed (the kit's `inTransaction` hands it out). */
export type UnitOfWork = KitUnitOfWork<Tx>;

/** Settings the use cases read (from config.ts). */
export interface OrchestrationSettings {
  classificationTimeoutMs: number;
  defaultStrategy: ExecutionStrategy;
  maxExecutionAttempts: number;
  shellExecutorEnabled: boolean;
  logFlushIntervalMs: number;
  logFlushMaxLines: number;
  /** Publish live log lines once their seqs are reserved, before the write commits (ADR 0028). */
  logPublishBeforeCommit?: boolean;
  logLineMaxChars: number;
  /**
   * Limits of the transactions on a running execution's path (claim, log batches, finish, release, lease
   * recovery): `EXECUTION_TRANSACTION_TIMEOUT_MS` / `EXECUTION_TRANSACTION_MAX_WAIT_MS`. Absent: the client's.
   */
  executionTransaction?: TransactionLimits | undefined;
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
