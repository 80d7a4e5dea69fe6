import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@cap/testkit';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;

describe('a standalone identity (node subgraphs/identity/dist/main.js)', () => {
  it('saves the generated first admin in <DATA_DIR>/admin-credentials.txt (mode 600), like npm start', async () => {
    await using db = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'cap-identity-'));
    // In-memory cache and bus: only the database is shared with the test.
    const { REDIS_URL: _redis, KAFKA_BROKERS: _kafka, ...inherited } = process.env;
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'subgraphs/identity/src/main.ts'],
      {
        cwd: root,
        env: {
          ...inherited,
          NODE_ENV: 'development',
          PORT: '0',
          DATA_DIR: dataDir,
          DATABASE_URL: db.url,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const deadline = Date.now() + 60_000;
      while (!/password (\S+)/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`identity did not print its admin: ${output.slice(-2_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const password = /password (\S+)/.exec(output)![1]!;
      const file = join(dataDir, 'admin-credentials.txt');
      expect(output).toContain(file);
      expect(await readFile(file, 'utf8')).toBe(`email: admin@example.com\npassword: ${password}\n`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
