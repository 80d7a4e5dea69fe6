import { randomUUID } from 'node:crypto';
import { MemoryEventBus } from '@cap/messaging';
import { createLogger, RedisKeyValueStore, type Principal } from '@cap/runtime';
import { asRouter, countingDatabase, createTestDatabase, graphql, testSecret } from '@cap/testkit';
import { loadConfig, startIdentity, type RunningIdentity } from '../src/index.js';

export interface IdentityHarness extends AsyncDisposable {
  identity: RunningIdentity;
  secret: string;
  bus: MemoryEventBus;
  admin: { email: string; password: string };
  /** SQL statements identity sent so far through Prisma (see `countingDatabase`). */
  statements(): number;
  /** Calls identity as the router would, for `principal` from `clientIp`. */
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { principal?: Principal; clientIp?: string },
  ): ReturnType<typeof graphql<T>>;
}

/**
 * Identity on a fresh real PostgreSQL database and real Redis (unique key prefix), in-memory bus.
 * `options.redisUrl` points it at another Redis (e.g. a private one a test stops and starts).
 */
export async function startIdentityHarness(
  env: Record<string, string> = {},
  options: { redisUrl?: string } = {},
): Promise<IdentityHarness> {
  const db = await createTestDatabase();
  const counting = countingDatabase(db.database);
  const secret = testSecret();
  const kv = new RedisKeyValueStore(
    options.redisUrl ?? process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    {
      keyPrefix: `test:${randomUUID()}:`,
    },
  );
  const bus = new MemoryEventBus();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: `/tmp/cap-test-${randomUUID()}`,
    INTERNAL_TOKEN_SECRET: secret,
    SIGNING_KEY_SECRET: testSecret(),
    LOG_LEVEL: 'silent',
    ...env,
  });
  let identity: RunningIdentity;
  try {
    identity = await startIdentity({
      config,
      database: counting.database,
      kv,
      bus,
      logger: createLogger({ service: 'identity-test', level: 'silent' }),
    });
  } catch (error) {
    await Promise.allSettled([bus.close(), kv.close(), db.drop()]);
    throw error;
  }
  const admin = identity.bootstrappedAdmin;
  if (!admin) throw new Error('expected the first start to create an admin');
  return {
    identity,
    secret,
    bus,
    admin,
    statements: counting.statements,
    call: async (query, variables = {}, options = {}) =>
      graphql(
        identity.subgraph.graphqlUrl,
        query,
        variables,
        await asRouter(secret, options.principal, { clientIp: options.clientIp ?? randomIp() }),
      ),
    [Symbol.asyncDispose]: async () => {
      await identity.close();
      await bus.close();
      await kv.close();
      await db.drop();
    },
  };
}

/** A random documentation-range address, so throttles of different tests never meet. */
export function randomIp(): string {
  const hex = randomUUID().replaceAll('-', '');
  return `2001:db8::${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 12)}`;
}

export const LOGIN = /* GraphQL */ `
  mutation Login($email: String!, $password: String!) {
    login(input: { email: $email, password: $password }) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      user {
        id
        email
        role
      }
    }
  }
`;

/**
 * The bootstrapped admin as the router would pass it after a login: its user id, with the scopes the admin's
 * mutations require.
 */
export async function adminPrincipal(h: IdentityHarness): Promise<Principal & { kind: 'user' }> {
  const login = await h.call(LOGIN, { email: h.admin.email, password: h.admin.password });
  return {
    kind: 'user',
    userId: login.data!['login'].user.id,
    role: 'ADMIN',
    scopes: ['users:manage', 'apikeys:manage'],
  };
}
