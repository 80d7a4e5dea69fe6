import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { PrismaClient as AlphaClient } from './fixtures/alpha/src/generated/prisma/client.js';
import { PrismaClient as BetaClient } from './fixtures/beta/src/generated/prisma/client.js';
import { ALPHA, BETA } from './support.js';

const OPERATIONS_PER_CLIENT = 500;
const ROWS = 10;

/** Thrown on purpose inside interactive transactions: they must roll back without touching anyone else. */
class Rollback extends Error {}

/**
 * PGlite is one PostgreSQL session shared by every PrismaClient of the process. If one client's statements could
 * run inside another client's open transaction, this workload would show it: read-modify-write increments inside
 * interactive transactions (with a yield between read and write) would lose updates, a rolled-back transaction
 * would take other clients' writes with it, or a query would fail with "current transaction is aborted".
 */
describe('PGlite shared by two subgraphs under concurrency', () => {
  it(`keeps 2 x ${OPERATIONS_PER_CLIENT} concurrent mixed operations correct, interactive transactions included`, async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    await db.migrate(ALPHA);
    await db.migrate(BETA);
    const { transactionOptions } = db;
    const alpha = new AlphaClient({ adapter: db.adapterFor('alpha'), transactionOptions });
    const beta = new BetaClient({ adapter: db.adapterFor('beta'), transactionOptions });
    try {
      const accounts = await Promise.all(
        Array.from({ length: ROWS }, (_, i) =>
          alpha.account.create({ data: { email: `seed-${i}@example.com` } }),
        ),
      );
      const notes = await Promise.all(
        Array.from({ length: ROWS }, (_, i) =>
          beta.note.create({ data: { title: `seed-${i}`, tags: [`t${i}`] } }),
        ),
      );
      const expectedBalance = new Map(accounts.map((a) => [a.id, 0]));
      const expectedVersion = new Map(notes.map((n) => [n.id, 0]));
      let wrongResults = 0;

      const alphaOps = Array.from({ length: OPERATIONS_PER_CLIENT }, (_, i) => {
        const account = accounts[i % ROWS]!;
        switch (i % 5) {
          case 0:
            expectedBalance.set(account.id, expectedBalance.get(account.id)! + 1);
            return alpha.$transaction(async (tx) => {
              const current = await tx.account.findUniqueOrThrow({ where: { id: account.id } });
              await yieldToEventLoop();
              await tx.account.update({ where: { id: account.id }, data: { balance: current.balance + 1 } });
            });
          case 1:
            return alpha.$transaction(async (tx) => {
              await tx.account.create({ data: { email: `ghost-${i}@example.com` } });
              await yieldToEventLoop();
              throw new Rollback();
            });
          case 2:
            return alpha.account.create({ data: { email: `new-${i}@example.com` } });
          case 3:
            return alpha.account.findUnique({ where: { id: account.id } }).then((found) => {
              if (found?.email !== account.email) wrongResults++;
            });
          default:
            expectedBalance.set(account.id, expectedBalance.get(account.id)! + 1);
            return alpha
              .$transaction([
                alpha.account.update({ where: { id: account.id }, data: { balance: { increment: 1 } } }),
                alpha.account.count({ where: { email: { startsWith: 'seed-' } } }),
              ])
              .then(([, seeded]) => {
                if (seeded !== ROWS) wrongResults++;
              });
        }
      });

      const betaOps = Array.from({ length: OPERATIONS_PER_CLIENT }, (_, i) => {
        const note = notes[i % ROWS]!;
        switch (i % 5) {
          case 0:
            expectedVersion.set(note.id, expectedVersion.get(note.id)! + 1);
            return beta.$transaction(async (tx) => {
              const current = await tx.note.findUniqueOrThrow({ where: { id: note.id } });
              await yieldToEventLoop();
              await tx.note.update({
                where: { id: note.id },
                data: {
                  version: current.version + 1,
                  tags: [...current.tags.slice(0, 1), `v${current.version + 1}`],
                },
              });
            });
          case 1:
            return beta.$transaction(async (tx) => {
              await tx.note.updateMany({ data: { status: 'PUBLISHED' } });
              await yieldToEventLoop();
              throw new Rollback();
            });
          case 2:
            return beta.note.create({ data: { title: `new-${i}`, status: 'PUBLISHED' } });
          case 3:
            return beta.$queryRaw<
              Array<{ title: string }>
            >`SELECT title FROM "beta"."notes" WHERE id = ${note.id}`.then(([row]) => {
              if (row?.title !== note.title) wrongResults++;
            });
          default:
            expectedVersion.set(note.id, expectedVersion.get(note.id)! + 1);
            return beta.note.update({ where: { id: note.id }, data: { version: { increment: 1 } } });
        }
      });

      const settled = await Promise.allSettled([...alphaOps, ...betaOps]);

      const unexpected = settled.filter((r) => r.status === 'rejected' && !(r.reason instanceof Rollback));
      const rolledBack = settled.filter((r) => r.status === 'rejected' && r.reason instanceof Rollback);
      expect(unexpected.map((r) => String((r as PromiseRejectedResult).reason).slice(0, 300))).toEqual([]);
      expect(rolledBack).toHaveLength((2 * OPERATIONS_PER_CLIENT) / 5);
      expect(wrongResults).toBe(0);

      const balances = await alpha.account.findMany({ where: { email: { startsWith: 'seed-' } } });
      expect(new Map(balances.map((a) => [a.id, a.balance]))).toEqual(expectedBalance);
      expect(await alpha.account.count({ where: { email: { startsWith: 'ghost-' } } })).toBe(0);
      expect(await alpha.account.count({ where: { email: { startsWith: 'new-' } } })).toBe(
        OPERATIONS_PER_CLIENT / 5,
      );

      const versions = await beta.note.findMany({ where: { title: { startsWith: 'seed-' } } });
      expect(new Map(versions.map((n) => [n.id, n.version]))).toEqual(expectedVersion);
      // Rolled-back updateMany calls published nothing; only the notes created as PUBLISHED are.
      expect(await beta.note.count({ where: { status: 'PUBLISHED' } })).toBe(OPERATIONS_PER_CLIENT / 5);
    } finally {
      await Promise.all([alpha.$disconnect(), beta.$disconnect()]);
      await db.close();
    }
  }, 60_000);
});
