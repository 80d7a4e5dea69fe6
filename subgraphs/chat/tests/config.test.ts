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
});
