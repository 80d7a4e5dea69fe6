import type { Database } from '@cap/db';

/**
 * True for the statements of an outbox relay (its claim and retry bookkeeping name `"next_attempt_at"`, its
 * mark sets `"published_at"`; a request's own statements only insert into the outbox): background work that a
 * request did not cause.
 */
export function isOutboxRelayStatement(sql: string): boolean {
  return sql.includes('"next_attempt_at"') || sql.includes('SET "published_at"');
}

/** Options of {@link countingDatabase}. */
export interface CountingOptions {
  /** Statements not to count (default: the outbox relay's poll, see {@link isOutboxRelayStatement}). */
  ignore?: (sql: string) => boolean;
}

/**
 * Counts the SQL statements Prisma sends through a database's driver adapters (queries and commands, not the
 * BEGIN of transactions), for "no N+1" tests that compare counts for lists of different lengths. Background work
 * of the code under test (an outbox relay's poll, which may fall inside a measured request on a busy machine) is
 * not counted, so a count depends only on what the request did.
 */
export function countingDatabase(
  database: Database,
  options: CountingOptions = {},
): { database: Database; statements: () => number } {
  const ignore = options.ignore ?? isOutboxRelayStatement;
  let statements = 0;
  type Wrap = (result: unknown, args: unknown[]) => unknown;
  const counted = <T extends object>(target: T, methods: Record<string, Wrap>): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        // Bound to the real object: adapters keep private state a proxy could not reach.
        const bound = (value as (...args: unknown[]) => unknown).bind(object);
        const wrap = methods[String(property)];
        return wrap ? (...args: unknown[]) => wrap(bound(...args), args) : bound;
      },
    });
  const count: Wrap = (result, args) => {
    const query = args[0] as { sql?: unknown } | undefined;
    if (!ignore(typeof query?.sql === 'string' ? query.sql : '')) statements += 1;
    return result;
  };
  const transaction: Wrap = (pending) =>
    (pending as Promise<object>).then((tx) => counted(tx, { queryRaw: count, executeRaw: count }));
  const connection: Wrap = (pending) =>
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
