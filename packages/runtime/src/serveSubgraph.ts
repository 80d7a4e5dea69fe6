import type { BaseContext } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { optionalDependency, type ReadinessChecks } from './health.js';
import type { RouterClaims } from './internalToken.js';
import type { Logger } from './logger.js';
import type { Shutdown } from './shutdown.js';
import { startSubgraphServer, type RunningSubgraph, type SubgraphServerOptions } from './subgraphServer.js';

/** The configuration variables every subgraph serves with (`subgraphEnvShape`, secret filled in by `loadConfig`). */
export interface SubgraphServeConfig {
  NODE_ENV: string;
  HOST: string;
  PORT: number;
  INTERNAL_TOKEN_SECRET: string;
}

/**
 * The `startSubgraphServer` options that every subgraph takes from its configuration the same way: the address,
 * the router's token secret and development mode (`/ready` details for every caller).
 */
export function subgraphServerSettings(
  config: SubgraphServeConfig,
): Pick<SubgraphServerOptions<never>, 'host' | 'port' | 'internalTokenSecret' | 'development'> {
  return {
    host: config.HOST,
    port: config.PORT,
    internalTokenSecret: config.INTERNAL_TOKEN_SECRET,
    development: config.NODE_ENV === 'development',
  };
}

/**
 * The part of a request context every subgraph has: the principal and request id the router established, and the
 * subgraph's dependencies with the request's logger (so a domain function logs with the request id). A subgraph
 * spreads it and adds its own (loaders, client address, live tails).
 */
export function baseRequestContext<Deps extends { logger: Logger }>(
  deps: Deps,
  request: { claims: RouterClaims; logger: Logger },
): { principal: RouterClaims['principal']; requestId: string; deps: Deps } {
  return {
    principal: request.claims.principal,
    requestId: request.claims.requestId,
    deps: { ...deps, logger: request.logger },
  };
}

/** A dependency a subgraph works without, degraded: `/ready` reports it by kind (`cache:redis`, `live:memory`). */
export interface OptionalReadiness {
  readonly kind: string;
  ping(): Promise<unknown>;
}

/**
 * Serves a subgraph's graph the way every subgraph does: the kit's {@link subgraphServerSettings} from `config`,
 * `/ready` probing the database (required), then the process cache and the live bus when given (optional: the
 * subgraph is degraded without them, ADR 0012), then its own `readiness`; the server registers in `scope` as
 * `<name> server` at once.
 */
export async function serveSubgraph<TContext extends BaseContext>(
  options: {
    name: string;
    schema: GraphQLSchema;
    config: SubgraphServeConfig;
    logger: Logger;
    scope: Shutdown;
    database: { ping(): Promise<unknown> };
    /** The process cache, if the subgraph reports it (`cache:<kind>`, optional). */
    cache?: OptionalReadiness;
    /** The live bus, if the subgraph has one (`live:<kind>`, optional). */
    live?: OptionalReadiness;
    /** Further checks, after the common ones. */
    readiness?: ReadinessChecks;
  } & Pick<SubgraphServerOptions<TContext>, 'context' | 'routes'>,
): Promise<RunningSubgraph> {
  const { cache, live } = options;
  const subgraph = await startSubgraphServer<TContext>({
    name: options.name,
    schema: options.schema,
    ...subgraphServerSettings(options.config),
    logger: options.logger,
    context: options.context,
    readiness: {
      database: () => options.database.ping(),
      ...(cache ? { [`cache:${cache.kind}`]: optionalDependency(() => cache.ping()) } : {}),
      ...(live ? { [`live:${live.kind}`]: optionalDependency(() => live.ping()) } : {}),
      ...options.readiness,
    },
    ...(options.routes ? { routes: options.routes } : {}),
  });
  options.scope.add(`${options.name} server`, () => subgraph.close());
  return subgraph;
}
