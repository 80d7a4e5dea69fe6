import type { Database } from '@cap/db';
import { type EventBus, OutboxRelay } from '@cap/messaging';
import { prismaExecutor } from '@cap/db';
import { outboxRecorder } from '@cap/messaging';
import {
  optionalDependency,
  readBody,
  ROUTER_TOKEN_HEADER,
  sendJson,
  startSubgraphServer,
  verifyRouterToken,
  type KeyValueStore,
  type Logger,
  type RunningSubgraph,
  type Shutdown,
} from '@cap/runtime';
import { baseRequestContext, startScoped, subgraphServerSettings } from '@cap/runtime/kit';
import type { IdentityConfig } from './config.js';
import { createLoaders, type IdentityContext } from './context.js';
import { openIdentityDb, SCHEMA } from './db.js';
import { verifyApiKey } from './domain/apiKeys.js';
import { RateLimitCounter } from './domain/rateLimits.js';
import type { IdentityDeps } from './domain/deps.js';
import { SigningKeyRing } from './domain/signingKeys.js';
import { bootstrapAdmin } from './domain/users.js';
import { schema } from './schema/index.js';

export interface StartIdentityOptions {
  config: IdentityConfig;
  database: Database;
  kv: KeyValueStore;
  bus: EventBus;
  logger: Logger;
}

export interface RunningIdentity {
  subgraph: RunningSubgraph;
  deps: IdentityDeps;
  /** Set when this start created the first admin (development prints it once). */
  bootstrappedAdmin: { email: string; password: string; generated: boolean } | null;
  /** Releases everything the start opened, newest first. */
  close(): Promise<void>;
}

/** Starts the identity subgraph on shared infrastructure (its own process, or the all-in-one platform). */
export function startIdentity(options: StartIdentityOptions): Promise<RunningIdentity> {
  // Every resource registers in `scope` as soon as it exists: a start that fails halfway releases what it opened.
  return startScoped(options.logger, (scope) => startInScope(options, scope));
}

async function startInScope(
  options: StartIdentityOptions,
  scope: Shutdown,
): Promise<Omit<RunningIdentity, 'close'>> {
  const { config, logger } = options;
  const prisma = await openIdentityDb(options.database, { migrate: config.MIGRATE_ON_START });
  scope.add('identity prisma', () => prisma.$disconnect());
  const sql = prismaExecutor(prisma);
  const relay = new OutboxRelay({ sql, schema: SCHEMA, bus: options.bus, logger });
  const keys = new SigningKeyRing({
    prisma,
    secret: config.SIGNING_KEY_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  });
  const rateLimits = new RateLimitCounter({
    shared: options.kv,
    failureMode: config.RATE_LIMIT_FAILURE_MODE,
    logger,
  });
  scope.add('identity rate limits', () => rateLimits.close());
  const deps: IdentityDeps = {
    prisma,
    keys,
    kv: options.kv,
    rateLimits,
    logger,
    events: outboxRecorder({ schema: SCHEMA, relay, sql: prismaExecutor }),
    settings: {
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      loginAttemptsPerMinute: config.LOGIN_ATTEMPTS_PER_MINUTE,
      refreshAttemptsPerMinute: config.REFRESH_SESSION_ATTEMPTS_PER_MINUTE,
      apiKeyCreationsPerMinute: config.CREATE_API_KEY_ATTEMPTS_PER_MINUTE,
    },
  };
  await keys.ensureActiveKey();
  const admin = await bootstrapAdmin(deps, {
    production: config.NODE_ENV === 'production',
    email: config.ADMIN_EMAIL,
    password: config.ADMIN_PASSWORD,
  });
  relay.start();
  scope.add('identity outbox relay', () => relay.stop());

  const subgraph = await startSubgraphServer<IdentityContext>({
    name: 'identity',
    schema,
    ...subgraphServerSettings(config),
    logger,
    context: (request) => ({
      ...baseRequestContext(deps, request),
      clientIp: request.claims.clientIp,
      userAgent: request.req.headers['user-agent'],
      loaders: createLoaders(deps),
    }),
    readiness: {
      database: () => options.database.ping(),
      // Throttles fall back to an in-process limiter without Redis (ADR 0012): degraded, not down.
      [`cache:${options.kv.kind}`]: optionalDependency(() => options.kv.ping()),
    },
    routes: {
      // Public: the router (and anyone) verifies access tokens with these keys.
      'GET /.well-known/jwks.json': async (_req, res) => {
        sendJson(res, 200, await keys.jwks(), { 'cache-control': 'public, max-age=60' });
      },
      // Router only (router token required): turns an API key into the principal it acts for.
      'POST /internal/api-keys/verify': async (req, res) => {
        const token = req.headers[ROUTER_TOKEN_HEADER];
        const verified = await verifyRouterToken(
          config.INTERNAL_TOKEN_SECRET,
          Array.isArray(token) ? token[0] : token,
        );
        if (!verified.ok) return sendJson(res, 401, { error: 'router token required' });
        let key: unknown;
        try {
          key = (JSON.parse(await readBody(req, 4_096)) as { key?: unknown }).key;
        } catch {
          return sendJson(res, 400, { error: 'expected {"key": string}' });
        }
        if (typeof key !== 'string') return sendJson(res, 400, { error: 'expected {"key": string}' });
        const result = await verifyApiKey(deps, key);
        if (!result) return sendJson(res, 404, { valid: false });
        sendJson(res, 200, { ...result, expiresAt: result.expiresAt?.toISOString() ?? null });
      },
    },
  });
  scope.add('identity server', () => subgraph.close());

  return {
    subgraph,
    deps,
    bootstrappedAdmin: admin.created
      ? { email: admin.email, password: admin.password, generated: admin.generated }
      : null,
  };
}
