/**
 * Identity for the federation benchmark: the real identity subgraph (embedded PGlite, or DATABASE_URL), so the
 * router verifies access tokens exactly as for real clients (ES256 against identity's JWKS). The benchmark logs
 * in as the bootstrapped admin once, through identity's own `login` mutation (the router in front of the
 * benchmark subgraphs does not serve identity's schema).
 */
import { randomUUID } from 'node:crypto';
import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { loadConfig as loadIdentityConfig, startIdentity } from '@cap/identity';
import { MemoryEventBus } from '@cap/messaging';
import {
  ANONYMOUS,
  ROUTER_TOKEN_HEADER,
  signRouterToken,
  type KeyValueStore,
  type Logger,
} from '@cap/runtime';

/** Identity running for a benchmark. */
export interface BenchIdentity {
  /** Base URL (JWKS, API-key verification): the router's IDENTITY_INTERNAL_URL. */
  url: string;
  /** Its GraphQL endpoint: the router's SUBGRAPH_IDENTITY_URL. */
  graphqlUrl: string;
  /** The bootstrapped admin's credentials (to log in through a router). */
  admin: { email: string; password: string };
  /** INTERNAL_TOKEN_SECRET shared with the router. */
  secret: string;
  /** A fresh access token of the bootstrapped admin, as a client would hold after logging in. */
  accessToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startBenchIdentity(options: {
  dataDir: string;
  kv: KeyValueStore;
  logger: Logger;
}): Promise<BenchIdentity> {
  const { dataDir, kv, logger } = options;
  const secret = `bench-${randomUUID()}-${randomUUID()}`;
  const database = await openDatabase(
    databaseTargetFromEnv({ databaseUrl: process.env['DATABASE_URL'], dataDir }),
    { logger },
  );
  const bus = new MemoryEventBus();
  const identity = await startIdentity({
    config: loadIdentityConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      INTERNAL_TOKEN_SECRET: secret,
      LOG_LEVEL: 'warn',
    }),
    database,
    kv,
    bus,
    logger,
  });
  const admin = identity.bootstrappedAdmin;
  if (!admin) throw new Error('expected a bootstrapped admin');
  return {
    url: identity.subgraph.url,
    graphqlUrl: identity.subgraph.graphqlUrl,
    admin: { email: admin.email, password: admin.password },
    secret,
    accessToken: async () => {
      // As the router would forward an anonymous caller's login.
      const routerToken = await signRouterToken(secret, {
        principal: ANONYMOUS,
        requestId: randomUUID(),
        clientIp: '127.0.0.1',
      });
      const response = await fetch(identity.subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [ROUTER_TOKEN_HEADER]: routerToken },
        body: JSON.stringify({
          query:
            'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }',
          variables: { e: admin.email, p: admin.password },
        }),
      });
      const body = (await response.json()) as {
        data?: { login?: { accessToken?: string } };
        errors?: unknown;
      };
      const token = body.data?.login?.accessToken;
      if (!token) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
      return token;
    },
    close: async () => {
      await identity.close();
      await bus.close();
      await database.close();
    },
  };
}
