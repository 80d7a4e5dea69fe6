import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { loadConfig as loadChatConfig, startChat } from '@cap/chat';
import { loadConfig as loadCicdConfig, startCicd } from '@cap/cicd';
import { openDatabase, type Database } from '@cap/db';
import { loadGithubConfig, startGithub } from '@cap/github';
import { loadConfig as loadIdentityConfig, startIdentity } from '@cap/identity';
import { MemoryEventBus } from '@cap/messaging';
import { loadConfig as loadMlClassifierConfig, startMlClassifier } from '@cap/ml-classifier';
import { loadConfig as loadOrchestrationConfig, startOrchestration } from '@cap/orchestration';
import { createLogger, MemoryKeyValueStore, scopesForRole, type Principal } from '@cap/runtime';
import {
  asRouter,
  createTestDatabase,
  graphql,
  provisionSubgraphRoles,
  SUBGRAPH_SCHEMAS,
  testSecret,
  type SubgraphRoles,
  type TestDatabase,
} from '@cap/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * One PostgreSQL role per subgraph (compose's `docker/postgres/subgraph-roles.sh`, run here against a scratch
 * database): each subgraph migrates and runs as its own role, and no role can read or write another's tables
 * or put anything in `public`.
 */
let db: TestDatabase;
let roles: SubgraphRoles;
const opened: Database[] = [];
const closers: Array<() => Promise<unknown>> = [];
const dataDir = `/tmp/cap-roles-${randomUUID()}`;
const secret = testSecret();
const logger = createLogger({ service: 'roles-test', level: 'silent' });
const developer: Principal = {
  kind: 'user',
  userId: randomUUID(),
  role: 'DEVELOPER',
  scopes: [...scopesForRole('DEVELOPER')],
};

async function asRole(schema: (typeof SUBGRAPH_SCHEMAS)[number]): Promise<Database> {
  const database = await openDatabase({ kind: 'postgres', url: roles.urls[schema] });
  opened.push(database);
  return database;
}

async function queryAs<T extends pg.QueryResultRow>(
  schema: (typeof SUBGRAPH_SCHEMAS)[number],
  sql: string,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: roles.urls[schema] });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  roles = await provisionSubgraphRoles(db);
}, 60_000);
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  for (const database of opened) await database.close().catch(() => undefined);
  await db?.drop();
  await roles?.drop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('one database role per subgraph', () => {
  it('runs each subgraph, migrations included, as its own role, and each answers a real operation', async () => {
    const bus = new MemoryEventBus();
    const kv = new MemoryKeyValueStore();
    closers.push(
      () => bus.close(),
      () => kv.close(),
    );
    const env = {
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      LOG_LEVEL: 'silent',
    };

    const identity = await startIdentity({
      config: loadIdentityConfig({ ...env, SIGNING_KEY_SECRET: testSecret() }),
      database: await asRole('identity'),
      kv,
      bus,
      logger,
    });
    closers.push(() => identity.close());
    const admin = identity.bootstrappedAdmin!;
    const login = await graphql(
      identity.subgraph.graphqlUrl,
      `
        mutation ($e: String!, $p: String!) {
          login(input: { email: $e, password: $p }) {
            accessToken
            user {
              role
            }
          }
        }
      `,
      { e: admin.email, p: admin.password },
      await asRouter(secret),
    );
    expect(login.errors).toBeUndefined();
    expect(login.data!['login'].user.role).toBe('ADMIN');

    const chat = await startChat({
      config: loadChatConfig(env),
      database: await asRole('chat'),
      kv,
      bus,
      logger,
    });
    closers.push(() => chat.close());
    const headers = await asRouter(secret, developer);
    const conversation = await graphql(
      chat.subgraph.graphqlUrl,
      `
        mutation {
          createConversation(input: { title: "roles" }) {
            id
          }
        }
      `,
      {},
      headers,
    );
    expect(conversation.errors).toBeUndefined();
    const posted = await graphql(
      chat.subgraph.graphqlUrl,
      `
        mutation ($c: ID!) {
          postMessage(input: { conversationId: $c, body: "as the chat role" }) {
            seq
          }
        }
      `,
      { c: conversation.data!['createConversation'].id },
      headers,
    );
    expect(posted.data).toEqual({ postMessage: { seq: 1 } });

    const orchestration = await startOrchestration({
      config: loadOrchestrationConfig({ ...env, CLASSIFICATION_TIMEOUT_MS: '0', WORKER_CONCURRENCY: '0' }),
      database: await asRole('orchestration'),
      kv,
      bus,
      logger,
    });
    closers.push(() => orchestration.close({ graceMs: 0 }));
    const task = await graphql(
      orchestration.subgraph.graphqlUrl,
      `
        mutation {
          createTask(input: { title: "as the orchestration role", command: "true" }) {
            id
            status
          }
        }
      `,
      {},
      headers,
    );
    expect(task.errors).toBeUndefined();

    const classifier = await startMlClassifier({
      config: loadMlClassifierConfig({ ...env, TRAINING_CHANGELOGS: 'false' }),
      database: await asRole('ml_classifier'),
      kv,
      bus,
      logger,
    });
    const github = await startGithub({
      config: loadGithubConfig(env),
      database: await asRole('github'),
      kv,
      bus,
      logger,
    });
    closers.push(() => classifier.close());
    const classified = await graphql(
      classifier.subgraph!.graphqlUrl,
      `
        query {
          classifyTask(input: { title: "as the ml_classifier role" }) {
            modelVersion
          }
        }
      `,
      {},
      headers,
    );
    expect(classified.errors).toBeUndefined();
    closers.push(() => github.close());
    const repositories = await graphql(
      github.subgraph.graphqlUrl,
      '{ repositories(first: 5) { edges { node { id } } } }',
      {},
      headers,
    );
    expect(repositories.data).toEqual({ repositories: { edges: [] } });
    const cicd = await startCicd({
      config: loadCicdConfig({ ...env, CI_POLL_INTERVAL_MS: '0' }),
      database: await asRole('cicd'),
      kv,
      bus,
      logger,
    });
    closers.push(() => cicd.close());
    const policy = await graphql(
      cicd.subgraph.graphqlUrl,
      `
        mutation {
          setFixPolicy(input: { repository: "acme/roles", mode: SUGGEST }) {
            mode
          }
        }
      `,
      {},
      headers,
    );
    expect(policy.data).toEqual({ setFixPolicy: { mode: 'SUGGEST' } });

    // Every table is owned by the role of its schema (created by its migrations, run as that role).
    const owners = await queryAs<{ schemaname: string; tableowner: string }>(
      'identity',
      `SELECT DISTINCT schemaname, tableowner FROM pg_tables WHERE schemaname = ANY('{identity,chat,orchestration,ml_classifier,github,cicd}') ORDER BY 1`,
    );
    expect(owners).toEqual(
      SUBGRAPH_SCHEMAS.map((schema) => ({ schemaname: schema, tableowner: roles.roles[schema] })).sort(
        (a, b) => a.schemaname.localeCompare(b.schemaname),
      ),
    );
  }, 120_000);

  it('refuses every role every other schema’s tables (permission denied), and the public schema', async () => {
    const tables = await queryAs<{ schemaname: string; tablename: string }>(
      'identity',
      `SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY('{identity,chat,orchestration,ml_classifier,github,cicd}')`,
    );
    expect(new Set(tables.map((table) => table.schemaname))).toEqual(new Set(SUBGRAPH_SCHEMAS));
    for (const reader of SUBGRAPH_SCHEMAS) {
      for (const { schemaname, tablename } of tables) {
        const read = queryAs(reader, `SELECT 1 FROM "${schemaname}"."${tablename}" LIMIT 1`);
        if (schemaname === reader) await expect(read).resolves.toBeDefined();
        else
          await expect(read, `${reader} reading ${schemaname}.${tablename}`).rejects.toMatchObject({
            code: '42501',
          });
      }
      await expect(queryAs(reader, `CREATE TABLE public.intruder (id int)`)).rejects.toMatchObject({
        code: '42501',
      });
      for (const other of SUBGRAPH_SCHEMAS.filter((schema) => schema !== reader)) {
        await expect(queryAs(reader, `CREATE TABLE "${other}".intruder (id int)`)).rejects.toMatchObject({
          code: '42501',
        });
      }
    }
  }, 60_000);
});
