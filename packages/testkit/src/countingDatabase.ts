import type { Database } from '@cap/db';

/**
 * Counts the SQL statements Prisma sends through a database's driver adapters (queries and commands, not the
 * BEGIN of transactions), for "no N+1" tests that compare counts for lists of different lengths. Background work
 * of the code under test (an outbox relay's poll) is counted too: compare the fewest of a few identical reads.
 */
export function countingDatabase(database: Database): { database: Database; statements: () => number } {
  let statements = 0;
  const counted = <T extends object>(target: T, methods: Record<string, (value: unknown) => unknown>): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        // Bound to the real object: adapters keep private state a proxy could not reach.
        const bound = (value as (...args: unknown[]) => unknown).bind(object);
        const wrap = methods[String(property)];
        return wrap ? (...args: unknown[]) => wrap(bound(...args)) : bound;
      },
    });
  const count = (result: unknown): unknown => {
    statements += 1;
    return result;
  };
  const transaction = (pending: unknown): unknown =>
    (pending as Promise<object>).then((tx) => counted(tx, { queryRaw: count, executeRaw: count }));
  const connection = (pending: unknown): unknown =>
    (pending as Promise<object>).then((adapter) =>
      counted(adapter, { queryRaw: count, executeRaw: count, startTransaction: transaction }),
    );
  return {
    database: counted(database, {
      adapterFor: (factory) => counted(factory as object, { connect: connection }),
    }),
    statements: () => statements,
  };
}
