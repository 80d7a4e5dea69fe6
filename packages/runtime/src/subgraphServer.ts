import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { ErrorCode, httpStatusOf } from './errors.js';
import { isInternalCaller, readinessResponse, runReadiness, type ReadinessChecks } from './health.js';
import {
  answeringUnexpectedErrors,
  closeServer,
  headerMapOf,
  listen,
  readGraphQLBody,
  sendGraphQLError,
  sendJson,
  sendRefusal,
} from './http.js';
import { createHttpServer } from './httpServer.js';
import { ROUTER_TOKEN_HEADER, verifyRouterToken, type RouterClaims } from './internalToken.js';
import type { SharedEventExecution } from './sharedExecution.js';
import { maskError } from './subgraphErrors.js';
import { serveSubgraphSubscriptions } from './subgraphSubscriptions.js';

/** An extra HTTP route a subgraph serves beside GraphQL (e.g. identity's JWKS document). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface SubgraphServerOptions<TContext extends BaseContext> {
  /** Subgraph name, as in the supergraph (e.g. `identity`). */
  name: string;
  schema: GraphQLSchema;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Shared with the router; verifies the router-signed identity token on every GraphQL request. */
  internalTokenSecret: string;
  logger: Logger;
  /** Builds the per-request context from what the router established. */
  context: (input: {
    claims: RouterClaims;
    logger: Logger;
    req: IncomingMessage;
  }) => Promise<TContext> | TContext;
  /** Dependencies probed by `/ready`; mark the ones the subgraph can do without with `optionalDependency`. */
  readiness?: ReadinessChecks;
  /** Development mode: `/ready` shows every caller its details (otherwise only loopback and the router). */
  development?: boolean;
  /** Extra routes by exact path (`GET /.well-known/jwks.json`), answered without the router token. */
  routes?: Record<string, RouteHandler>;
  /** Cap on GraphQL request bodies, bytes (default 2 MiB). */
  maxBodyBytes?: number;
}

export interface RunningSubgraph {
  url: string;
  graphqlUrl: string;
  server: Server;
  /** The shared per-event execution of its subscriptions (none without a Subscription type); see ADR 0021. */
  liveExecution: SharedEventExecution | undefined;
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

/**
 * Serves one subgraph: GraphQL on `/graphql` (only with a valid router token), `/health`, `/ready` and any extra
 * routes. Unexpected resolver errors are logged with their cause and masked; coded errors pass through.
 */
export async function startSubgraphServer<TContext extends BaseContext>(
  options: SubgraphServerOptions<TContext>,
): Promise<RunningSubgraph> {
  const { logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 2 * 1024 * 1024;
  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    // Only the router can reach us (router token), and it needs introspection-free `_service` anyway.
    introspection: true,
    csrfPrevention: false,
    // Our own shutdown (runtime/shutdown.ts) drains in order; Apollo's signal handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskError(formatted, error, logger),
    // No usage reporting behind our router: federated traces would only cost bytes and time.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok', service: options.name });
    if (url.pathname === '/ready') {
      const report = await runReadiness(options.readiness ?? {});
      const detailed =
        options.development === true ||
        isInternalCaller(req) ||
        (await hasRouterToken(req, options.internalTokenSecret));
      const { statusCode, body } = readinessResponse(options.name, report, detailed);
      return sendJson(res, statusCode, body);
    }
    const route = options.routes?.[`${req.method ?? 'GET'} ${url.pathname}`];
    if (route) return route(req, res);
    if (url.pathname !== GRAPHQL_PATH) return sendJson(res, 404, { error: 'not found' });

    const token = req.headers[ROUTER_TOKEN_HEADER];
    const verified = await verifyRouterToken(
      options.internalTokenSecret,
      Array.isArray(token) ? token[0] : token,
    );
    if (!verified.ok) {
      logger.warn(
        { reason: verified.reason, remote: req.socket.remoteAddress },
        'request without a valid router token',
      );
      return sendGraphQLError(
        res,
        httpStatusOf(ErrorCode.ROUTER_TOKEN_REQUIRED),
        ErrorCode.ROUTER_TOKEN_REQUIRED,
        'Subgraphs accept requests only through the router.',
      );
    }
    const { claims } = verified;
    const requestLogger = logger.child({ requestId: claims.requestId });

    // No content-type check: only the router reaches this endpoint (router token), and it already checked.
    const read = await readGraphQLBody(req, { maxBytes: maxBodyBytes, requireJsonContentType: false });
    if (!read.ok) return sendRefusal(res, read.refusal);
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: (req.method ?? 'GET').toUpperCase(),
        headers: headerMapOf(req),
        search: url.search,
        body: read.body,
      },
      context: async () => options.context({ claims, logger: requestLogger, req }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  const server = createHttpServer(
    answeringUnexpectedErrors(handle, logger, 'unhandled error in subgraph HTTP handler'),
  );
  const subscriptions = options.schema.getSubscriptionType()
    ? serveSubgraphSubscriptions(server, {
        schema: options.schema,
        internalTokenSecret: options.internalTokenSecret,
        logger,
        context: options.context,
        path: GRAPHQL_PATH,
        maxPayloadBytes: maxBodyBytes,
      })
    : null;
  const url = await listen(server, options.host, options.port);
  logger.info({ url: `${url}${GRAPHQL_PATH}`, subgraph: options.name }, 'subgraph listening');
  return {
    url,
    graphqlUrl: `${url}${GRAPHQL_PATH}`,
    server,
    liveExecution: subscriptions?.execution,
    close: async () => {
      await subscriptions?.close();
      await closeServer(server);
      await apollo.stop();
    },
  };
}

/** Whether `req` carries a valid router token (the router probing `/ready`). */
async function hasRouterToken(req: IncomingMessage, secret: string): Promise<boolean> {
  const token = req.headers[ROUTER_TOKEN_HEADER];
  if (token === undefined) return false;
  return (await verifyRouterToken(secret, Array.isArray(token) ? token[0] : token)).ok;
}

/** A fresh request id when the router did not send one. */
export function newRequestId(): string {
  return randomUUID();
}
