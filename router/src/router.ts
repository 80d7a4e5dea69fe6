import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  BodyTooLargeError,
  clientAddress,
  closeServer,
  ErrorCode,
  listen,
  readBody,
  REQUEST_ID_HEADER,
  runReadiness,
  sendGraphQLError,
  sendJson,
  signRouterToken,
  type KeyValueStore,
  type Logger,
  type ReadinessCheck,
} from '@cap/runtime';
import { readFileSync } from 'node:fs';
import { AuthenticationError, Authenticator, requestIdFrom } from './authenticate.js';
import type { RouterConfig } from './config.js';
import { maskError } from './maskError.js';
import { RouterDataSource } from './RouterDataSource.js';
import type { RouterContext } from './routerContext.js';
import { subgraphsOf, supergraphSource } from './supergraph.js';

export interface StartRouterOptions {
  config: RouterConfig;
  kv: KeyValueStore;
  logger: Logger;
}

export interface RunningRouter {
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  /** GraphQL endpoint (also Apollo Sandbox in development). */
  graphqlUrl: string;
  server: Server;
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

/**
 * Starts the router: authentication, the router-signed identity token for subgraphs, query planning and
 * execution through @apollo/gateway, `/health` and `/ready`.
 */
export async function startRouter(options: StartRouterOptions): Promise<RunningRouter> {
  const { config, logger } = options;
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphSource({
      path: config.supergraphPath,
      subgraphUrls: config.subgraphUrls,
      pollIntervalMs: config.supergraphPollIntervalMs,
      internalTokenSecret: config.internalTokenSecret,
      logger,
    }),
    buildService: ({ name, url }) =>
      new RouterDataSource(name, config.subgraphUrls[name] ?? url ?? '', config.subgraphTimeoutMs, logger),
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
  });
  const apollo = new ApolloServer<RouterContext>({
    gateway,
    introspection: config.development,
    csrfPrevention: true,
    // Our own shutdown (runtime/shutdown.ts) drains in order; Apollo's signal handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskError(formatted, error, logger),
    plugins: [
      config.sandboxEnabled
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const authenticator = new Authenticator({
    identityUrl: config.identityUrl,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    internalTokenSecret: config.internalTokenSecret,
    kv: options.kv,
    apiKeyCacheTtlSeconds: config.apiKeyCacheTtlSeconds,
    logger,
  });

  const subgraphs = subgraphsOf(readFileSync(config.supergraphPath, 'utf8'), config.subgraphUrls);
  const readiness: Record<string, ReadinessCheck> = Object.fromEntries(
    subgraphs.map(({ name, url }) => [
      `subgraph:${name}`,
      async () => {
        const response = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) throw new Error(`${name} is not ready (HTTP ${response.status})`);
        return undefined;
      },
    ]),
  );
  readiness[`cache:${options.kv.kind}`] = () => options.kv.ping();

  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const requestId = requestIdFrom(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const clientIp = clientAddress(req, config.trustProxy);
    const isLandingPage = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !url.search;

    let principal: RouterContext['principal'] = { kind: 'anonymous' };
    if (!isLandingPage) {
      try {
        principal = await authenticator.authenticate(req.headers, requestId);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        logger.info({ requestId, reason: error.reason, clientIp }, 'credentials refused');
        const status = error.reason === 'identity_unavailable' ? 503 : 401;
        return sendGraphQLError(res, status, ErrorCode.UNAUTHENTICATED, error.message, {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
    }

    let body: unknown;
    if (req.method === 'POST') {
      try {
        const raw = await readBody(req, config.maxBodyBytes);
        body = raw.length > 0 ? JSON.parse(raw) : {};
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return sendGraphQLError(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, error.message, {}, { limitBytes: config.maxBodyBytes });
        }
        return sendGraphQLError(res, 400, ErrorCode.BAD_USER_INPUT, 'Request body is not valid JSON.', {}, {
          expected: 'a JSON object { query, variables?, operationName? }',
        });
      }
    }

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let routerToken: Promise<string> | undefined;
    const context: RouterContext = {
      principal,
      requestId,
      clientIp,
      traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined,
      // Signed on first use: requests that fail validation never pay for it.
      get routerToken() {
        routerToken ??= signRouterToken(config.internalTokenSecret, { principal, requestId, clientIp });
        return routerToken;
      },
    };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
      context: async () => context,
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

  const applyCors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (origin && (config.corsOrigins.includes('*') || config.corsOrigins.includes(origin))) {
      res.setHeader('access-control-allow-origin', config.corsOrigins.includes('*') ? '*' : origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'x-request-id');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader(
        'access-control-allow-headers',
        'authorization, content-type, x-api-key, x-request-id, traceparent, apollo-require-preflight, x-apollo-operation-name',
      );
      res.setHeader('access-control-max-age', '600');
      res.writeHead(204).end();
      return true;
    }
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://router');
    if (applyCors(req, res)) return;
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok', service: 'router' });
    if (url.pathname === '/ready') {
      const report = await runReadiness(readiness);
      return sendJson(res, report.status === 'ready' ? 200 : 503, { service: 'router', ...report });
    }
    if (url.pathname === '/') {
      res.writeHead(302, { location: GRAPHQL_PATH }).end();
      return;
    }
    if (url.pathname === GRAPHQL_PATH) return handleGraphQL(req, res, url);
    sendJson(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, 'unhandled error in router');
      if (!res.headersSent) sendGraphQLError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error.');
      else res.end();
    });
  });
  const base = await listen(server, config.host, config.port);
  logger.info({ url: `${base}${GRAPHQL_PATH}`, sandbox: config.sandboxEnabled }, 'router listening');
  return {
    url: base,
    graphqlUrl: `${base}${GRAPHQL_PATH}`,
    server,
    close: async () => {
      await closeServer(server);
      await apollo.stop();
    },
  };
}
