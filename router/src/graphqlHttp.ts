import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer, HeaderMap } from '@apollo/server';
import {
  clientAddress,
  codedError,
  ErrorCode,
  headerMapOf,
  httpStatusOf,
  readGraphQLBody,
  REQUEST_ID_HEADER,
  sendGraphQLError,
  sendRefusal,
  signRouterToken,
  type Logger,
} from '@cap/runtime';
import { AuthenticationError, requestIdFrom, type Authenticator } from './authenticate.js';
import type { RouterConfig } from './config.js';
import type { OperationPolicy, Prepared } from './policy/OperationPolicy.js';
import type { RouterContext } from './routerContext.js';
import type { Inflight } from './speed/Inflight.js';
import { identityKey } from './speed/keys.js';

/** Request header asking for `extensions.cost` ({ estimated, actual, max, remaining }) in the response. */
const INCLUDE_COST_HEADER = 'x-include-cost';
/** The punctuation of a batch's JSON array, around and between its parts' encoded bodies. */
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
/** HTTP 503: credentials that cannot be verified right now (identity unreachable) are not refused for good. */
const CREDENTIALS_UNVERIFIABLE_STATUS = 503;

/** What the GraphQL endpoint needs from the router it is part of. */
export interface GraphQLHttpDependencies {
  config: RouterConfig;
  authenticator: Authenticator;
  apollo: ApolloServer<RouterContext>;
  /** The policies of the supergraph served right now (replaced on every reload); undefined before the first. */
  currentPolicy: () => OperationPolicy | undefined;
  /** Executions in flight, shared by identical queries of one identity (OPERATION_DEDUPLICATION). */
  executions: Inflight<ExecutedOperation>;
  logger: Logger;
}

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
  /** UTF-8, encoded once (and shared by deduplicated callers). */
  body: Buffer;
}

/** What the gateway answered to one operation, before the budget's headers; shared by deduplicated callers. */
export interface ExecutedOperation {
  status: number;
  headers: ReadonlyArray<[string, string]>;
  /** UTF-8, encoded once (and shared by deduplicated callers). */
  body: Buffer;
}

/** Who is asking, as established before any operation runs. */
interface Caller {
  principal: RouterContext['principal'];
  requestId: string;
  clientIp: string;
  traceparent: string | undefined;
  includeCost: boolean;
}

/**
 * The router's `/graphql` over HTTP, in order: authentication, the transport rules (JSON bodies, size, batches),
 * then each operation through the policies (`OperationPolicy.prepare`) and the gateway.
 */
export function graphqlHttpHandler(
  deps: GraphQLHttpDependencies,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { config, authenticator, logger } = deps;
  // Identical queries in flight for one identity share one execution (docs/adr/0022-router-throughput.md).
  const { executions } = deps;

  /**
   * Runs one operation: the policies first (limits, validation, introspection, authorization, cost, budget),
   * then, unless they refused it, the gateway with the operation they returned.
   */
  const runOperation = async (
    request: GraphQLHttpRequest,
    headers: HeaderMap,
    caller: Caller,
  ): Promise<OperationResponse> => {
    const current = deps.currentPolicy();
    let prepared: Prepared | undefined;
    if (current && config.policy.enabled && !(request.method === 'GET' && request.search === '')) {
      const operation = extractOperation(request);
      if (!operation) {
        return jsonResponse(httpStatusOf(ErrorCode.BAD_USER_INPUT), {
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

    const policy = current && prepared?.kind === 'run' ? prepared : undefined;
    const execute = (): Promise<ExecutedOperation> => {
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
        policy: current && policy ? { policy: current, outcome: policy.outcome } : undefined,
      };
      return executeHttp(deps.apollo, request, headers, context);
    };
    // Only POSTed queries the policies read (so their type is known), whose answer is the same for every such
    // caller: `extensions.cost` reports the caller's own budget, and Apollo answers by `Accept` (content type and
    // status), which is part of the key. GETs run alone (Apollo's CSRF rules read their headers).
    const shareable =
      config.operationDeduplication &&
      request.method === 'POST' &&
      policy?.outcome.analysis?.operation.operation === 'query' &&
      !policy.outcome.includeCost;
    const executed = shareable
      ? await executions.run(
          `${identityKey(caller.principal, caller.clientIp)}\n${headers.get('accept') ?? ''}\n${request.search}\n${JSON.stringify(request.body)}`,
          execute,
        )
      : await execute();
    const responseHeaders = new Map<string, string>(executed.headers);
    for (const [key, value] of Object.entries(prepared?.headers ?? {})) responseHeaders.set(key, value);
    return { status: executed.status, headers: responseHeaders, body: executed.body };
  };

  return async (req, res, url) => {
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
        const status =
          error.reason === 'identity_unavailable'
            ? CREDENTIALS_UNVERIFIABLE_STATUS
            : httpStatusOf(ErrorCode.UNAUTHENTICATED);
        return sendGraphQLError(res, status, ErrorCode.UNAUTHENTICATED, error.message, {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
    }

    const read = await readGraphQLBody(req, { maxBytes: config.maxBodyBytes, requireJsonContentType: true });
    if (!read.ok) return sendRefusal(res, read.refusal);
    const { body } = read;

    const headers = headerMapOf(req);
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
          httpStatusOf(ErrorCode.BATCHING_NOT_ALLOWED),
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
      for (const [key, value] of mostRestrictiveBudget(parts)?.headers ?? [])
        if (key.startsWith('x-ratelimit-') || key === 'retry-after') res.setHeader(key, value);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.statusCode = 200;
      res.end(
        Buffer.concat([
          OPEN,
          ...parts.flatMap((part, index) => (index ? [COMMA, part.body] : [part.body])),
          CLOSE,
        ]),
      );
      return;
    }

    const response = await runOperation({ method, search: url.search, body }, headers, caller);
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status;
    res.end(response.body);
  };
}

/** Runs one operation through Apollo Server and the gateway, reading the whole body. */
async function executeHttp(
  apollo: ApolloServer<RouterContext>,
  request: GraphQLHttpRequest,
  headers: HeaderMap,
  context: RouterContext,
): Promise<ExecutedOperation> {
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method, headers, search: request.search, body: request.body },
    context: async () => context,
  });
  let text = '';
  if (response.body.kind === 'complete') text = response.body.string;
  else for await (const chunk of response.body.asyncIterator) text += chunk;
  // Apollo appends a newline to the JSON it serialised, leaving a rope string: encoding a rope to UTF-8 costs
  // about twice as much as encoding a flat string, and measuring its length flattens it in place first.
  Buffer.byteLength(text);
  return { status: response.status ?? 200, headers: [...response.headers], body: Buffer.from(text) };
}

/** The batch part carrying the most restrictive budget state: the lowest remaining (later parts win ties: newer). */
function mostRestrictiveBudget(parts: readonly OperationResponse[]): OperationResponse | undefined {
  let restrictive: OperationResponse | undefined;
  for (const part of parts) {
    const remaining = Number(part.headers.get('x-ratelimit-remaining') ?? Number.NaN);
    if (Number.isNaN(remaining)) continue;
    if (!restrictive || remaining <= Number(restrictive.headers.get('x-ratelimit-remaining')))
      restrictive = part;
  }
  return restrictive;
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): OperationResponse {
  return {
    status,
    headers: new Map([['content-type', 'application/json; charset=utf-8'], ...Object.entries(headers)]),
    body: Buffer.from(JSON.stringify(body)),
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
