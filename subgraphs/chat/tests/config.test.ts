import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';

// Development secrets are generated into DATA_DIR: a directory of this file's own, removed afterwards.
const dataDir = mkdtempSync(join(tmpdir(), 'cap-chat-config-'));
const base = { NODE_ENV: 'test', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('chat configuration', () => {
  it('keeps the agent-replies consumer’s processed-event marks 7 days by default, a minute to a year', () => {
    expect(loadConfig(base).PROCESSED_EVENTS_RETENTION_MS).toBe(7 * 24 * 3_600_000);
    expect(
      loadConfig({ ...base, PROCESSED_EVENTS_RETENTION_MS: '60000' }).PROCESSED_EVENTS_RETENTION_MS,
    ).toBe(60_000);
    for (const bad of ['0', '59999', 'abc', '1.5', '31536000001'])
      expect(() => loadConfig({ ...base, PROCESSED_EVENTS_RETENTION_MS: bad }), bad).toThrow(
        /PROCESSED_EVENTS_RETENTION_MS/,
      );
  });

  it('reads the database pool size (1 to 200) and the transaction wait (1 ms to 10 min), unset by default', () => {
    const defaults = loadConfig(base);
    expect(defaults.DATABASE_POOL_SIZE).toBeUndefined();
    expect(defaults.DATABASE_TRANSACTION_MAX_WAIT_MS).toBeUndefined();
    expect(
      loadConfig({ ...base, DATABASE_POOL_SIZE: '25', DATABASE_TRANSACTION_MAX_WAIT_MS: '5000' }),
    ).toMatchObject({ DATABASE_POOL_SIZE: 25, DATABASE_TRANSACTION_MAX_WAIT_MS: 5_000 });
    for (const bad of ['0', '201', 'abc', '1.5'])
      expect(() => loadConfig({ ...base, DATABASE_POOL_SIZE: bad }), bad).toThrow(/DATABASE_POOL_SIZE/);
    for (const bad of ['0', '600001', '-1'])
      expect(() => loadConfig({ ...base, DATABASE_TRANSACTION_MAX_WAIT_MS: bad }), bad).toThrow(
        /DATABASE_TRANSACTION_MAX_WAIT_MS/,
      );
  });
});
