import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMessagingError, MessagingErrorCode, quoteSchema } from '../src/index.js';
import { createTestSchema, type TestSchema } from './support.js';

describe('pgExecutor', () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema('sql');
    await db.sql.query(`CREATE TABLE "${db.schema}".items (name text NOT NULL)`);
  });
  afterAll(() => db.dispose());

  const names = async (): Promise<string[]> =>
    (await db.sql.query<{ name: string }>(`SELECT name FROM "${db.schema}".items ORDER BY name`)).map(
      (row) => row.name,
    );

  it('commits a transaction that resolves and rolls back one that rejects', async () => {
    await db.sql.transaction((tx) => tx.query(`INSERT INTO "${db.schema}".items VALUES ($1)`, ['kept']));
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO "${db.schema}".items VALUES ($1)`, ['discarded']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await names()).toEqual(['kept']);
  });

  it('turns a nested transaction into a savepoint', async () => {
    await db.sql.transaction(async (tx) => {
      await tx.query(`INSERT INTO "${db.schema}".items VALUES ($1)`, ['outer']);
      await expect(
        tx.transaction(async (inner) => {
          await inner.query(`INSERT INTO "${db.schema}".items VALUES ($1)`, ['inner']);
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
    });
    expect(await names()).toEqual(['kept', 'outer']);
  });

  it('returns the connection to the pool even when the transaction fails', async () => {
    for (let i = 0; i < 15; i += 1) {
      await expect(db.sql.transaction(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    }
    expect(db.pool.totalCount).toBeLessThanOrEqual(10);
    expect(db.pool.idleCount).toBe(db.pool.totalCount);
  });
});

describe('quoteSchema', () => {
  it('quotes plain identifiers and refuses anything else', () => {
    expect(quoteSchema('identity')).toBe('"identity"');
    expect(quoteSchema('ml_classifier2')).toBe('"ml_classifier2"');
    for (const bad of ['Identity', 'ml-classifier', '1st', 'x"; DROP TABLE y; --', '', 'a'.repeat(64)]) {
      try {
        quoteSchema(bad);
        expect.unreachable(bad);
      } catch (error) {
        expect(isMessagingError(error, MessagingErrorCode.SCHEMA_NAME_INVALID)).toBe(true);
      }
    }
  });
});
