import { describe, expect, it } from 'vitest';
import { inTransaction } from '../src/kit.js';

/** A transaction runner with the shape of Prisma's `$transaction`: commits when `work` resolves, rolls back when it throws. */
function fakeDatabase(): {
  prisma: { $transaction<T>(work: (tx: string[]) => Promise<T>): Promise<T> };
  committed: string[][];
} {
  const committed: string[][] = [];
  return {
    committed,
    prisma: {
      async $transaction<T>(work: (tx: string[]) => Promise<T>): Promise<T> {
        const tx: string[] = [];
        const result = await work(tx);
        committed.push(tx);
        return result;
      },
    },
  };
}

describe('unit of work', () => {
  it('runs effects and wakes the relay only after the commit, in order, and isolates failing effects', async () => {
    const db = fakeDatabase();
    const order: string[] = [];
    const warnings: unknown[] = [];
    const deps = {
      prisma: db.prisma,
      events: { committed: () => order.push('relay') },
      logger: { warn: (entry: unknown) => warnings.push(entry) },
    };
    const result = await inTransaction(deps, async ({ tx, afterCommit }) => {
      tx.push('insert');
      afterCommit(() => order.push(`effect after ${db.committed.length} commit(s)`));
      afterCommit(() => {
        throw new Error('boom');
      });
      afterCommit(() => order.push('second effect'));
      return 42;
    });
    expect(result).toBe(42);
    expect(order).toEqual(['relay', 'effect after 1 commit(s)', 'second effect']);
    expect(warnings).toHaveLength(1);
  });

  it('runs no effect and wakes nothing when the transaction rolls back', async () => {
    const db = fakeDatabase();
    const order: string[] = [];
    const deps = {
      prisma: db.prisma,
      events: { committed: () => order.push('relay') },
      logger: { warn: () => undefined },
    };
    await expect(
      inTransaction(deps, async ({ afterCommit }) => {
        afterCommit(() => order.push('effect'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(order).toEqual([]);
    expect(db.committed).toEqual([]);
  });
});
