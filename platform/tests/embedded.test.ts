import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@cap/runtime';
import { errorCodes, graphql } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startPlatform, type RunningPlatform } from '../src/index.js';

/**
 * The embedded mode (`npm start` with no services): every subgraph and the router in one process on PGlite, the
 * in-memory cache and bus. It must stay correct under concurrency, including interactive transactions, and keep
 * its data across restarts.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-'));
const env = {
  NODE_ENV: 'development',
  DATA_DIR: dataDir,
  PORT: '0',
  LOG_LEVEL: 'silent',
  // Every request here comes from 127.0.0.1: lift the per-address login throttle and the router's cost budget of
  // an anonymous address (the logins below) for the load below.
  LOGIN_ATTEMPTS_PER_MINUTE: '100000',
  RATE_LIMIT_ANONYMOUS: '1000000/1m',
  SUPERGRAPH_POLL_INTERVAL_MS: '0',
  // The load below is about correctness, not latency: scrypt-heavy logins on a busy CI machine must not trip the
  // router's subgraph timeout (10 s by default) while every subgraph shares one PGlite session.
  SUBGRAPH_TIMEOUT_MS: '30000',
};
const logger = createLogger({ service: 'platform-test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
let platform: RunningPlatform;
let admin: { email: string; password: string };

async function start(): Promise<RunningPlatform> {
  return startPlatform({ config: loadConfig(env), env, logger });
}

beforeAll(async () => {
  platform = await start();
  admin = platform.identity.bootstrappedAdmin!;
}, 120_000);
afterAll(async () => {
  await platform?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const LOGIN = `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken user { id } } }`;
const CREATE_USER = `mutation($i: CreateUserInput!) { createUser(input: $i) { id email } }`;

describe('embedded platform', () => {
  it('runs on PGlite, the in-memory cache and the in-memory bus, and writes the first admin credentials for the owner only', () => {
    expect(platform.database.kind).toBe('pglite');
    expect(platform.kv.kind).toBe('memory');
    expect(platform.adminCredentialsFile).toBe(join(dataDir, 'admin-credentials.txt'));
    expect(statSync(platform.adminCredentialsFile!).mode & 0o777).toBe(0o600);
  });

  it('routes to every subgraph of the supergraph: the router is ready only when every subgraph answers', async () => {
    const response = await fetch(new URL('/ready', platform.router.url));
    const report = (await response.json()) as {
      status: string;
      checks: Array<{ name: string; status: string }>;
    };
    expect(response.status).toBe(200);
    expect(report.status).toBe('ready');
    const subgraphs = report.checks.filter((check) => check.name.startsWith('subgraph:'));
    expect(subgraphs.map((check) => [check.name, check.status]).sort()).toEqual([
      ['subgraph:chat', 'up'],
      ['subgraph:cicd', 'up'],
      ['subgraph:github', 'up'],
      ['subgraph:identity', 'up'],
      ['subgraph:ml-classifier', 'up'],
      ['subgraph:orchestration', 'up'],
    ]);
  });

  it('serves many parallel requests, transactions included, through the router with no wrong result or error', async () => {
    const url = platform.router.graphqlUrl;
    const login = await graphql(url, LOGIN, { e: admin.email, p: admin.password });
    const token = login.data!['login'].accessToken as string;
    const auth = { authorization: `Bearer ${token}` };

    const operations: Array<() => Promise<void>> = [];
    const emails = Array.from({ length: 40 }, (_, index) => `parallel-${index}@example.com`);
    for (const email of emails) {
      operations.push(async () => {
        const created = await graphql(
          url,
          CREATE_USER,
          { i: { email, password: 'correct-horse-battery', displayName: email, role: 'VIEWER' } },
          auth,
        );
        expect(created.errors).toBeUndefined();
        expect(created.data!['createUser'].email).toBe(email);
      });
    }
    for (let index = 0; index < 30; index += 1) {
      operations.push(async () => {
        const session = await graphql(url, LOGIN, { e: admin.email, p: admin.password });
        expect(session.errors).toBeUndefined();
        // Refresh runs an interactive transaction (read, conditional update, insert).
        const refreshed = await graphql(url, REFRESH, { t: session.data!['login'].refreshToken });
        expect(refreshed.errors).toBeUndefined();
        expect(refreshed.data!['refreshSession'].user.id).toBe(session.data!['login'].user.id);
      });
    }
    for (let index = 0; index < 100; index += 1) {
      operations.push(async () => {
        const me = await graphql(
          url,
          `
            {
              me {
                id
                role
              }
            }
          `,
          {},
          auth,
        );
        expect(me.data).toEqual({ me: { id: login.data!['login'].user.id, role: 'ADMIN' } });
      });
    }
    // Duplicates race with each other: exactly one of each pair wins, the other gets CONFLICT.
    const duplicateCodes: string[][] = [];
    for (let index = 0; index < 10; index += 1) {
      const email = `duplicate-${index}@example.com`;
      for (let copy = 0; copy < 2; copy += 1) {
        operations.push(async () => {
          const result = await graphql(
            url,
            CREATE_USER,
            { i: { email, password: 'correct-horse-battery', displayName: 'dup', role: 'VIEWER' } },
            auth,
          );
          duplicateCodes.push(errorCodes(result));
        });
      }
    }
    operations.sort(() => Math.random() - 0.5);
    await Promise.all(operations.map((operation) => operation()));

    expect(duplicateCodes.filter((codes) => codes.length === 0)).toHaveLength(10);
    expect(duplicateCodes.filter((codes) => codes.join() === 'CONFLICT')).toHaveLength(10);
    const users = await platform.identity.deps.prisma.user.findMany({ where: { email: { in: emails } } });
    expect(users).toHaveLength(emails.length);
    // Every user creation wrote its event to the outbox in the same transaction.
    const outbox = await platform.identity.deps.prisma.outboxEvent.count({
      where: { type: 'UserRegistered' },
    });
    expect(outbox).toBe(1 + emails.length + 10);
  }, 120_000);

  it('keeps its data across a restart and does not create a second admin', async () => {
    const before = await graphql(platform.router.graphqlUrl, LOGIN, { e: admin.email, p: admin.password });
    const auth = { authorization: `Bearer ${before.data!['login'].accessToken as string}` };
    const conversation = await graphql(
      platform.router.graphqlUrl,
      `
        mutation {
          createConversation(input: { title: "Before the restart" }) {
            id
          }
        }
      `,
      {},
      auth,
    );
    expect(conversation.errors).toBeUndefined();
    const conversationId = conversation.data!['createConversation'].id as string;

    await platform.close();
    platform = await start();
    expect(platform.identity.bootstrappedAdmin).toBeNull();
    const login = await graphql(platform.router.graphqlUrl, LOGIN, {
      e: 'parallel-1@example.com',
      p: 'correct-horse-battery',
    });
    expect(login.errors).toBeUndefined();
    // The access token outlives the restart (same signing keys and secrets in DATA_DIR), and so does chat's data.
    const read = await graphql(
      platform.router.graphqlUrl,
      `
        query ($id: ID!) {
          conversation(id: $id) {
            title
          }
        }
      `,
      { id: conversationId },
      auth,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({ conversation: { title: 'Before the restart' } });
  }, 120_000);
});
