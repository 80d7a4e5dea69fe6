import type { RouterClaims } from './internalToken.js';
import type { Logger } from './logger.js';
import type { SubgraphServerOptions } from './subgraphServer.js';

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
