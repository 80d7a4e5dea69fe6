/**
 * The minimal SQL surface the outbox and consumers need (`@cap/messaging`'s `SqlExecutor`), over a Prisma
 * client or an interactive-transaction client. Typed structurally so `@cap/db` need not depend on messaging.
 */
export interface PrismaSqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  transaction<T>(fn: (tx: PrismaSqlExecutor) => Promise<T>): Promise<T>;
}

interface RawCapable {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

interface TransactionCapable extends RawCapable {
  $transaction<R>(
    fn: (tx: RawCapable) => Promise<R>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<R>;
}

/**
 * Adapts a Prisma client. Inside a transaction client (no `$transaction`), `transaction(fn)` runs `fn` in the
 * caller's transaction, so helpers that open their own transaction also compose into a larger one.
 */
export function prismaExecutor(client: RawCapable | TransactionCapable): PrismaSqlExecutor {
  return {
    query: async <T>(sql: string, params: unknown[] = []) =>
      (await client.$queryRawUnsafe<T[]>(sql, ...params)) ?? [],
    transaction: async <T>(fn: (tx: PrismaSqlExecutor) => Promise<T>) => {
      if ('$transaction' in client && typeof client.$transaction === 'function') {
        return client.$transaction((tx) => fn(prismaExecutor(tx)), { maxWait: 10_000, timeout: 30_000 });
      }
      return fn(prismaExecutor(client));
    },
  };
}
