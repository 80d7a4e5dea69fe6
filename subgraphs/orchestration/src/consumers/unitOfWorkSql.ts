import type { SqlExecutor } from '@cap/messaging';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps, UnitOfWork } from '../domain/orchestrationDeps.js';

/**
 * A SqlExecutor for `runConsumer` whose transactions are orchestration units of work: a handler gets the Prisma
 * transaction behind `ctx.sql` (through {@link unitOfWorkOf}) and can use the same domain functions as the
 * resolvers, committing atomically with the processed-mark, with post-commit effects run only after the commit.
 */
export function unitOfWorkSql(deps: OrchestrationDeps): SqlExecutor {
  return {
    query: async <T>(sql: string, params: unknown[] = []) =>
      ((await deps.prisma.$queryRawUnsafe<T[]>(sql, ...params)) ?? []) as T[],
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) =>
      inTransaction(deps, (uow) => {
        const executor: SqlExecutor = {
          query: async <R>(sql: string, params: unknown[] = []) =>
            ((await uow.tx.$queryRawUnsafe<R[]>(sql, ...params)) ?? []) as R[],
          // Nested transactions join this one.
          transaction: (inner) => inner(executor),
        };
        units.set(executor, uow);
        return fn(executor);
      }),
  };
}

const units = new WeakMap<SqlExecutor, UnitOfWork>();

/** The unit of work behind a consumer's `ctx.sql`. */
export function unitOfWorkOf(sql: SqlExecutor): UnitOfWork {
  const uow = units.get(sql);
  if (!uow) throw new Error('ctx.sql does not come from unitOfWorkSql()');
  return uow;
}
