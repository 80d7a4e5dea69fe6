import type { SqlExecutor } from '@cap/messaging';
import { unitOfWorkOf as kitUnitOfWorkOf, unitOfWorkSql as kitUnitOfWorkSql } from '@cap/runtime/kit';
import type { OrchestrationDeps, Tx, UnitOfWork } from '../domain/orchestrationDeps.js';

/**
 * A SqlExecutor for `runConsumer` whose transactions are orchestration units of work (the kit's
 * `unitOfWorkSql`): a handler gets the Prisma transaction behind `ctx.sql` through {@link unitOfWorkOf} and uses
 * the same domain functions as the resolvers, committing atomically with the processed-mark.
 */
export function unitOfWorkSql(deps: OrchestrationDeps): SqlExecutor {
  return kitUnitOfWorkSql<Tx>(deps);
}

/** The unit of work behind a consumer's `ctx.sql`. */
export function unitOfWorkOf(sql: SqlExecutor): UnitOfWork {
  return kitUnitOfWorkOf<Tx>(sql);
}
