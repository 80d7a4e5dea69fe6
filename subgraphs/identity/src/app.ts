import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import { readBody, ROUTER_TOKEN_HEADER, sendJson, verifyRouterToken } from '@cap/runtime';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import type { IdentityConfig } from './config.js';
import { createLoaders, type IdentityContext } from './context.js';
import { openIdentityDb, SCHEMA } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { verifyApiKey } from './domain/apiKeys.js';
import { RateLimitCounter } from './domain/rateLimits.js';
import type { IdentityDeps } from './domain/deps.js';
import { SigningKeyRing } from './domain/signingKeys.js';
import { bootstrapAdmin } from './domain/users.js';
import { schema } from './schema/index.js';

export type StartIdentityOptions = SubgraphStartOptions<IdentityConfig>;

export interface RunningIdentity extends StartedSubgraph<IdentityDeps> {
  /** Set when this start created the first admin (development prints it once). */
  bootstrappedAdmin: { email: string; password: string; generated: boolean } | null;
}

/** Starts the identity subgraph on shared infrastructure (its own process, or the all-in-one platform). */
export function startIdentity(options: StartIdentityOptions): Promise<RunningIdentity> {
  return startSubgraph({ name: 'identity', schema: SCHEMA, open: openIdentityDb, options }, startInScope);
}

async function startInScope({
  options,
  store,
  scope,
}: SubgraphStart<StartIdentityOptions, PrismaClient>): Promise<Omit<RunningIdentity, 'close'>> {
  const { config, logger } = options;
  const { prisma } = store;
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
    events: store.events,
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
  store.startRelay();

  const subgraph = await serveSubgraph<IdentityContext>({
    name: 'identity',
    schema,
    config,
    logger,
    scope,
    database: options.database,
    // Throttles fall back to an in-process limiter without Redis (ADR 0012): degraded, not down.
    cache: options.kv,
    context: (request) => ({
      ...baseRequestContext(deps, request),
      clientIp: request.claims.clientIp,
      userAgent: request.req.headers['user-agent'],
      loaders: createLoaders(deps),
    }),
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

  return {
    subgraph,
    deps,
    bootstrappedAdmin: admin.created
      ? { email: admin.email, password: admin.password, generated: admin.generated }
      : null,
  };
}
