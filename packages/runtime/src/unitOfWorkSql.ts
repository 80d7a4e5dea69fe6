import { inTransaction, type UnitOfWork, type UnitOfWorkDeps } from './unitOfWork.js';

/**
 * The SQL surface a Kafka consumer (`@cap/messaging`'s `runConsumer`) writes its processed-marks through, typed
 * structurally so the runtime need not depend on messaging.
 */
export interface UnitOfWorkSqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  transaction<T>(fn: (tx: UnitOfWorkSqlExecutor) => Promise<T>): Promise<T>;
}

/** A client (or transaction client) that runs raw SQL, as Prisma's are. */
interface RawCapable {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

const units = new WeakMap<UnitOfWorkSqlExecutor, UnitOfWork<unknown>>();

/**
 * A SQL executor for `runConsumer` whose transactions are units of work of the subgraph: a handler gets the
 * Prisma transaction behind `ctx.sql` (through {@link unitOfWorkOf}) and uses the same domain functions as the
 * resolvers, committing atomically with the processed-mark; post-commit effects (live notifications, caches)
 * run only after the commit.
 */
export function unitOfWorkSql<Tx extends RawCapable>(
  deps: UnitOfWorkDeps<Tx> & { prisma: RawCapable },
): UnitOfWorkSqlExecutor {
  return {
    query: async <T>(sql: string, params: unknown[] = []) =>
      ((await deps.prisma.$queryRawUnsafe<T[]>(sql, ...params)) ?? []) as T[],
    transaction: <T>(fn: (tx: UnitOfWorkSqlExecutor) => Promise<T>) =>
      inTransaction(deps, (uow) => {
        const executor: UnitOfWorkSqlExecutor = {
          query: async <R>(sql: string, params: unknown[] = []) =>
            ((await uow.tx.$queryRawUnsafe<R[]>(sql, ...params)) ?? []) as R[],
          // Nested transactions join this one.
          transaction: (inner) => inner(executor),
        };
        units.set(executor, uow as UnitOfWork<unknown>);
        return fn(executor);
      }),
  };
}

/**
 * The unit of work behind a consumer's `ctx.sql` (from {@link unitOfWorkSql}); `Tx` is the caller's transaction
 * client type, the one its `unitOfWorkSql` was built with.
 * @throws {Error} when `sql` does not come from `unitOfWorkSql`
 */
export function unitOfWorkOf<Tx>(sql: UnitOfWorkSqlExecutor): UnitOfWork<Tx> {
  const uow = units.get(sql);
  if (!uow) throw new Error('ctx.sql does not come from unitOfWorkSql()');
  return uow as UnitOfWork<Tx>;
}
