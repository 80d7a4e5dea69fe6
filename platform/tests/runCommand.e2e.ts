import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphql } from '@cap/testkit';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** README's run command, as a user runs it: `npm start` in the repository, no services configured. */
describe('npm start', () => {
  it('starts the whole platform on embedded defaults, prints the router URL and the admin credentials, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cap-start-'));
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'NODE_ENV']) delete env[name];
    const child = spawn('npm', ['start'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await expect
        .poll(() => /platform is up: (\S+)/.exec(output)?.[1], { timeout: 90_000, interval: 200 })
        .toBeTruthy();
      await expect.poll(() => /password: (\S+)/.exec(output)?.[1], { timeout: 5_000 }).toBeTruthy();
      const url = /platform is up: (\S+)/.exec(output)![1]!;
      const email = /email:\s+(\S+)/.exec(output)![1]!;
      const password = /password: (\S+)/.exec(output)![1]!;
      const login = await graphql(
        url,
        `
          mutation ($e: String!, $p: String!) {
            login(input: { email: $e, password: $p }) {
              user {
                role
              }
            }
          }
        `,
        { e: email, p: password },
      );
      expect(login.data).toEqual({ login: { user: { role: 'ADMIN' } } });
      // Every subgraph of the supergraph runs in the process: the router's readiness checks all of them.
      const ready = await fetch(new URL('/ready', url));
      expect(ready.status).toBe(200);
      const checks = ((await ready.json()) as { checks: Array<{ name: string; status: string }> }).checks;
      expect(
        checks
          .filter((check) => check.name.startsWith('subgraph:'))
          .map((check) => `${check.name} ${check.status}`)
          .sort(),
      ).toEqual([
        'subgraph:chat up',
        'subgraph:cicd up',
        'subgraph:github up',
        'subgraph:identity up',
        'subgraph:ml-classifier up',
        'subgraph:orchestration up',
      ]);
      // Graceful shutdown: the process group exits on SIGTERM well before the test's timeout.
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});
