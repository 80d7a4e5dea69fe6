import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  BodyTooLargeError,
  clientAddress,
  closeServer,
  codedError,
  DegradedDependency,
  ErrorCode,
  isInternalCaller,
  listen,
  optionalDependency,
  readBody,
  readinessResponse,
  REQUEST_ID_HEADER,
  runReadiness,
  sendGraphQLError,
  sendJson,
  signRouterToken,
  type KeyValueStore,
  type Logger,
  type ReadinessChecks,
} from '@cap/runtime';
import { readFileSync } from 'node:fs';
import { AuthenticationError, Authenticator, requestIdFrom } from './authenticate.js';
import type { RouterConfig } from './config.js';
import { maskError } from './maskError.js';
import { OperationPolicy, type Prepared } from './policy/OperationPolicy.js';
import { POLICIES } from './policy/policies.js';
import { RateLimiter } from './policy/rateLimiter.js';
import { loadSupergraphPolicy } from './policy/supergraphPolicy.js';
import type { RevocationFeed } from './revocation/RevocationFeed.js';
import { RouterDataSource } from './RouterDataSource.js';
import type { RouterContext } from './routerContext.js';
import { subgraphsOf, supergraphSource } from './supergraph.js';
import { attachSubscriptions } from './subscriptions/attachSubscriptions.js';
import { SupergraphFeed } from './subscriptions/supergraphFeed.js';

export interface StartRouterOptions {
  config: RouterConfig;
  kv: KeyValueStore;
  logger: Logger;
  /** Identity's revocations, applied within seconds (docs/adr/0013); unset = credentials hold until they expire. */
  revocations?: RevocationFeed;
}

export interface RunningRouter {
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  /** GraphQL endpoint (also Apollo Sandbox where `sandbox` is on). */
  graphqlUrl: string;
  /** Whether Apollo Sandbox is served on `graphqlUrl` (SANDBOX_ENABLED). */
  sandbox: boolean;
  server: Server;
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';
/** Request header asking for `extensions.cost` ({ estimated, actual, max, remaining }) in the response. */
const INCLUDE_COST_HEADER = 'x-include-cost';
/** Response headers browsers may read (CORS). */
const EXPOSED_HEADERS =
  'x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after';

/** One GraphQL request as the transport carried it, before policies (see `runOperation`). */
interface GraphQLHttpRequest {
  method: string;
  search: string;
  body: unknown;
}

/** A finished response for one operation. */
interface OperationResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * Starts the router: authentication, the router-signed identity token for subgraphs, query planning and
 * execution through @apollo/gateway, `/health` and `/ready`.
 */
export async function startRouter(options: StartRouterOptions): Promise<RunningRouter> {
  const { config, logger } = options;
  const limiter = new RateLimiter({
    redisUrl: config.redisUrl,
    failureMode: config.rateLimitFailureMode,
    keyPrefix: config.rateLimitKeyPrefix,
    logger: logger.child({ component: 'rate-limiter' }),
  });
  // Replaced with every supergraph the gateway serves: requirements, costs and the API schema come from it.
  let policy: OperationPolicy | undefined;
  const loadSupergraph = (supergraphSdl: string): string => {
    const supergraph = loadSupergraphPolicy(supergraphSdl);
    const unknown = [...supergraph.policyNames].filter((name) => !(name in POLICIES));
    if (unknown.length > 0)
      throw new Error(`the supergraph names policies the router does not define: ${unknown.join(', ')}`);
    policy = new OperationPolicy(supergraph, config.policy, limiter);
    return supergraph.gatewaySdl;
  };
  // The SDL the gateway serves, for subscriptions (planned by the router itself; ADR 0008).
  const supergraphFeed = new SupergraphFeed();
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphSource({
      load: loadSupergraph,
      onServed: supergraphFeed.publish,
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
  // Adds what the policies decided (removed fields' errors and nulls, the cost report) to each result.
  const policyPlugin: ApolloServerPlugin<RouterContext> = {
    requestDidStart: async () => ({
      willSendResponse: async ({ response, contextValue }) => {
        const applied = contextValue.policy;
        if (!applied || response.body.kind !== 'single') return;
        applied.policy.finish(
          applied.outcome,
          response.body.singleResult as Parameters<OperationPolicy['finish']>[1],
        );
      },
    }),
  };
  const apollo = new ApolloServer<RouterContext>({
    gateway,
    // With policies on, the policy decides who may introspect (INTROSPECTION); Apollo must not refuse first.
    introspection: config.policy.enabled || config.development,
    // Automatic persisted queries would run a hash the policies never saw.
    persistedQueries: false,
    csrfPrevention: true,
    // Our own shutdown (runtime/shutdown.ts) drains in order; Apollo's signal handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskError(formatted, error, logger),
    plugins: [
      policyPlugin,
      config.sandboxEnabled
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  await limiter.ready(2_000);

  const authenticator = new Authenticator({
    identityUrl: config.identityUrl,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    internalTokenSecret: config.internalTokenSecret,
    kv: options.kv,
    apiKeyCacheTtlSeconds: config.apiKeyCacheTtlSeconds,
    logger,
    ...(options.revocations ? { revocations: options.revocations } : {}),
  });

  const subgraphs = subgraphsOf(readFileSync(config.supergraphPath, 'utf8'), config.subgraphUrls);
  const readiness: ReadinessChecks = Object.fromEntries(
    subgraphs.map(({ name, url }) => [
      `subgraph:${name}`,
      async () => {
        const response = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) throw new Error(`${name} is not ready (HTTP ${response.status})`);
        // Ready but without an optional dependency (its Redis, say): the router is degraded with it (ADR 0012).
        const body = (await response.json().catch(() => ({}))) as { status?: unknown };
        return body.status === 'degraded' ? new DegradedDependency() : undefined;
      },
    ]),
  );
  // API-key lookups and the budgets work without Redis (cache misses, local limiter): degraded, not down.
  readiness[`cache:${options.kv.kind}`] = optionalDependency(() => options.kv.ping());
  if (options.revocations) readiness['revocations'] = options.revocations.readiness;

  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const requestId = requestIdFrom(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const clientIp = clientAddress(req, config.trustProxy);
    const isLandingPage =
      req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !url.search;

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
      // JSON only: form and text bodies are what cross-site "simple" requests send (CSRF).
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') {
        return sendGraphQLError(
          res,
          415,
          ErrorCode.BAD_USER_INPUT,
          'GraphQL requests must be sent as application/json.',
          {},
          {
            expected: 'Content-Type: application/json',
          },
        );
      }
      try {
        const raw = await readBody(req, config.maxBodyBytes);
        body = raw.length > 0 ? JSON.parse(raw) : {};
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return sendGraphQLError(
            res,
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            error.message,
            {},
            { limitBytes: config.maxBodyBytes },
          );
        }
        return sendGraphQLError(
          res,
          400,
          ErrorCode.BAD_USER_INPUT,
          'Request body is not valid JSON.',
          {},
          {
            expected: 'a JSON object { query, variables?, operationName? }',
          },
        );
      }
    }

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const caller: Caller = {
      principal,
      requestId,
      clientIp,
      traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined,
      includeCost: req.headers[INCLUDE_COST_HEADER] === 'true',
    };
    const method = (req.method ?? 'GET').toUpperCase();

    if (Array.isArray(body)) {
      if (body.length === 0 || body.length > config.maxBatchSize) {
        const message =
          config.maxBatchSize === 0
            ? 'Batched requests are not accepted.'
            : `A batch holds at most ${config.maxBatchSize} operations.`;
        return sendGraphQLError(
          res,
          400,
          ErrorCode.BATCHING_NOT_ALLOWED,
          message,
          {},
          { max: config.maxBatchSize },
        );
      }
      // One at a time: a batch is no faster a way around the budget or the subgraphs' capacity.
      const parts: OperationResponse[] = [];
      for (const item of body)
        parts.push(await runOperation({ method, search: url.search, body: item }, headers, caller));
      // The most restrictive budget state across the batch: the lowest remaining (later parts win ties: newer).
      let restrictive: OperationResponse | undefined;
      for (const part of parts) {
        const remaining = Number(part.headers.get('x-ratelimit-remaining') ?? Number.NaN);
        if (Number.isNaN(remaining)) continue;
        if (!restrictive || remaining <= Number(restrictive.headers.get('x-ratelimit-remaining')))
          restrictive = part;
      }
      for (const [key, value] of restrictive?.headers ?? [])
        if (key.startsWith('x-ratelimit-') || key === 'retry-after') res.setHeader(key, value);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.statusCode = 200;
      res.end(`[${parts.map((part) => part.body).join(',')}]`);
      return;
    }

    const response = await runOperation({ method, search: url.search, body }, headers, caller);
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status;
    res.end(response.body);
  };

  /**
   * Runs one operation: the policies first (limits, validation, introspection, authorization, cost, budget),
   * then, unless they refused it, the gateway with the operation they returned.
   */
  const runOperation = async (
    request: GraphQLHttpRequest,
    headers: HeaderMap,
    caller: Caller,
  ): Promise<OperationResponse> => {
    const current = policy;
    let prepared: Prepared | undefined;
    if (current && config.policy.enabled && !(request.method === 'GET' && request.search === '')) {
      const operation = extractOperation(request);
      if (!operation) {
        return jsonResponse(400, {
          errors: [
            codedError(
              ErrorCode.BAD_USER_INPUT,
              'A GraphQL request needs a `query` string; `variables` must be an object and `operationName` a string.',
            ).toJSON(),
          ],
        });
      }
      prepared = await current.prepare({
        ...operation,
        principal: caller.principal,
        clientIp: caller.clientIp,
        includeCost: caller.includeCost,
      });
      if (prepared.kind === 'refuse')
        return jsonResponse(prepared.status, { errors: prepared.errors }, prepared.headers);
      request = withQuery(request, prepared.query);
    }

    let routerToken: Promise<string> | undefined;
    const context: RouterContext = {
      principal: caller.principal,
      requestId: caller.requestId,
      clientIp: caller.clientIp,
      traceparent: caller.traceparent,
      // Signed on first use: requests that fail validation never pay for it.
      get routerToken() {
        routerToken ??= signRouterToken(config.internalTokenSecret, {
          principal: caller.principal,
          requestId: caller.requestId,
          clientIp: caller.clientIp,
        });
        return routerToken;
      },
      policy:
        current && prepared?.kind === 'run' ? { policy: current, outcome: prepared.outcome } : undefined,
    };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method, headers, search: request.search, body: request.body },
      context: async () => context,
    });
    const responseHeaders = new Map<string, string>(response.headers);
    for (const [key, value] of Object.entries(prepared?.headers ?? {})) responseHeaders.set(key, value);
    let text = '';
    if (response.body.kind === 'complete') text = response.body.string;
    else for await (const chunk of response.body.asyncIterator) text += chunk;
    return { status: response.status ?? 200, headers: responseHeaders, body: text };
  };

  const applyCors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (origin && (config.corsOrigins.includes('*') || config.corsOrigins.includes(origin))) {
      res.setHeader('access-control-allow-origin', config.corsOrigins.includes('*') ? '*' : origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader(
        'access-control-allow-headers',
        'authorization, content-type, x-api-key, x-request-id, x-include-cost, traceparent, apollo-require-preflight, x-apollo-operation-name',
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
      // Error messages name internal hosts and ports: only for this host's callers, or in development.
      const { statusCode, body } = readinessResponse('router', report, config.nodeEnv === 'development' || isInternalCaller(req));
      return sendJson(res, statusCode, body);
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
      if (!res.headersSent)
        sendGraphQLError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error.');
      else res.end();
    });
  });
  // Federated subscriptions: graphql-ws on /graphql (upgrade), graphql-sse on /graphql/stream (ADR 0008).
  const subscriptions = attachSubscriptions({
    server,
    config,
    authenticator,
    supergraph: supergraphFeed,
    logger,
    // The same policies as HTTP operations, when a subscription starts; their decisions applied to each event.
    prepareOperation: async (input) => {
      if (!policy) throw new Error('no supergraph loaded yet');
      return policy.prepare(input);
    },
    finishEvent: (outcome, result) =>
      policy?.finish(outcome, result as Parameters<OperationPolicy['finish']>[1]),
  });
  const base = await listen(server, config.host, config.port);
  logger.info(
    config.sandboxEnabled
      ? { url: `${base}${GRAPHQL_PATH}`, sandbox: 'Apollo Sandbox on this URL' }
      : { url: `${base}${GRAPHQL_PATH}` },
    'router listening',
  );
  return {
    url: base,
    graphqlUrl: `${base}${GRAPHQL_PATH}`,
    sandbox: config.sandboxEnabled,
    server,
    close: async () => {
      await subscriptions.close();
      await closeServer(server);
      await apollo.stop();
      await limiter.close();
    },
  };
}

/** Who is asking, as established before any operation runs. */
interface Caller {
  principal: RouterContext['principal'];
  requestId: string;
  clientIp: string;
  traceparent: string | undefined;
  includeCost: boolean;
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): OperationResponse {
  return {
    status,
    headers: new Map([['content-type', 'application/json; charset=utf-8'], ...Object.entries(headers)]),
    body: JSON.stringify(body),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operation a POST body or GET query string carries, or undefined when it is malformed. */
function extractOperation(
  request: GraphQLHttpRequest,
): { query: string; operationName: string | undefined; variables: Record<string, unknown> } | undefined {
  let query: unknown;
  let operationName: unknown;
  let variables: unknown;
  if (request.method === 'GET') {
    const params = new URLSearchParams(request.search);
    query = params.get('query') ?? undefined;
    operationName = params.get('operationName') ?? undefined;
    const rawVariables = params.get('variables');
    if (rawVariables) {
      try {
        variables = JSON.parse(rawVariables);
      } catch {
        return undefined;
      }
    }
  } else {
    if (!isRecord(request.body)) return undefined;
    ({ query, operationName, variables } = request.body);
  }
  if (typeof query !== 'string') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return undefined;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
  return {
    query,
    operationName: operationName ?? undefined,
    variables: (variables as Record<string, unknown> | null | undefined) ?? {},
  };
}

/** The same request carrying `query` instead of the client's text (the policies may have removed fields). */
function withQuery(request: GraphQLHttpRequest, query: string): GraphQLHttpRequest {
  if (request.method === 'GET') {
    const params = new URLSearchParams(request.search);
    if (params.get('query') === query) return request;
    params.set('query', query);
    return { ...request, search: `?${params.toString()}` };
  }
  return isRecord(request.body) && request.body['query'] !== query
    ? { ...request, body: { ...request.body, query } }
    : request;
}
