import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps, UnitOfWork } from './orchestrationDeps.js';

/**
 * `inTransaction` with the limits of a running execution's path (`settings.executionTransaction`:
 * `EXECUTION_TRANSACTION_TIMEOUT_MS`, `EXECUTION_TRANSACTION_MAX_WAIT_MS`) instead of Prisma's 5 s default, which
 * a loaded machine exceeded while recording a finished execution: the task was requeued although it had finished.
 *
 * Prisma's timeout alone does not end a statement that waits on a row lock: its rollback queues behind the
 * waiting statement on the same connection, so the caller waits as long as the lock is held. The transaction
 * therefore also sets PostgreSQL's `lock_timeout` and `statement_timeout` to the same limit (`SET LOCAL`: this
 * transaction only): the waiting statement fails, the transaction rolls back, and the caller's retry runs.
 */
export function inRunTransaction<T>(
  deps: OrchestrationDeps,
  work: (uow: UnitOfWork) => Promise<T>,
): Promise<T> {
  const limits = deps.settings.executionTransaction;
  if (limits?.timeout === undefined) return inTransaction(deps, work, limits);
  const timeout = `${Math.max(1, Math.round(limits.timeout))}ms`;
  return inTransaction(
    deps,
    async (uow) => {
      await uow.tx.$executeRawUnsafe(SET_LIMITS_SQL, timeout);
      return work(uow);
    },
    limits,
  );
}

const SET_LIMITS_SQL = `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)`;
