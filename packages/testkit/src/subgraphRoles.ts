import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestDatabase } from './database.js';

/** The init script compose's PostgreSQL runs (the same file, so the tests prove what operators get). */
export const SUBGRAPH_ROLES_SCRIPT = fileURLToPath(
  new URL('../../../docker/postgres/subgraph-roles.sh', import.meta.url),
);

/** The subgraphs with a role of their own, each owning the schema of the same name. */
export const SUBGRAPH_SCHEMAS = [
  'identity',
  'chat',
  'orchestration',
  'ml_classifier',
  'github',
  'cicd',
] as const;
export type SubgraphSchema = (typeof SUBGRAPH_SCHEMAS)[number];

export interface SubgraphRoles extends AsyncDisposable {
  /** Connection URL of the test database as each subgraph's role. */
  urls: Record<SubgraphSchema, string>;
  /** The role names (prefixed: roles are cluster-wide, and tests share a server). */
  roles: Record<SubgraphSchema, string>;
  /** Drops the roles (drop the test database first: they own its schemas). Idempotent. */
  drop(): Promise<void>;
}

/**
 * Provisions one role per subgraph in a test database by running compose's init script
 * (`docker/postgres/subgraph-roles.sh`) against it, with random passwords and a unique role prefix. Needs
 * `psql` and a superuser in `TEST_DATABASE_URL`.
 */
export async function provisionSubgraphRoles(db: TestDatabase): Promise<SubgraphRoles> {
  const url = new URL(db.url);
  const prefix = `t${randomBytes(4).toString('hex')}_`;
  const passwords = Object.fromEntries(
    SUBGRAPH_SCHEMAS.map((schema) => [schema, randomBytes(12).toString('hex')]),
  ) as Record<SubgraphSchema, string>;
  await promisify(execFile)('bash', [SUBGRAPH_ROLES_SCRIPT], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      PGHOST: url.hostname,
      PGPORT: url.port || '5432',
      ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}),
      POSTGRES_USER: decodeURIComponent(url.username) || 'postgres',
      POSTGRES_DB: url.pathname.slice(1),
      SUBGRAPH_ROLE_PREFIX: prefix,
      IDENTITY_DB_PASSWORD: passwords.identity,
      CHAT_DB_PASSWORD: passwords.chat,
      ORCHESTRATION_DB_PASSWORD: passwords.orchestration,
      ML_CLASSIFIER_DB_PASSWORD: passwords.ml_classifier,
      GITHUB_DB_PASSWORD: passwords.github,
      CICD_DB_PASSWORD: passwords.cicd,
    },
  });
  const roles = Object.fromEntries(
    SUBGRAPH_SCHEMAS.map((schema) => [schema, `${prefix}${schema}`]),
  ) as Record<SubgraphSchema, string>;
  const urls = Object.fromEntries(
    SUBGRAPH_SCHEMAS.map((schema) => {
      const roleUrl = new URL(db.url);
      roleUrl.username = roles[schema];
      roleUrl.password = passwords[schema];
      return [schema, roleUrl.toString()];
    }),
  ) as Record<SubgraphSchema, string>;
  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> =>
    (dropping ??= (async () => {
      const server = new URL(db.url);
      server.pathname = '/postgres';
      const client = new pg.Client({ connectionString: server.toString() });
      await client.connect();
      try {
        for (const role of Object.values(roles)) await client.query(`DROP ROLE IF EXISTS "${role}"`);
      } finally {
        await client.end();
      }
    })());
  return { urls, roles, drop, [Symbol.asyncDispose]: drop };
}
