import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { codedError, ErrorCode, REQUEST_ID_HEADER, ROUTER_TOKEN_HEADER, type Logger } from '@cap/runtime';
import type { GraphQLError } from 'graphql';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import type { RouterContext } from './routerContext.js';
import { Inflight } from './speed/Inflight.js';
import { identityKey } from './speed/keys.js';

/** One fetch the gateway asks for, and the response it expects back. */
type GatewayGraphQLRequest = GraphQLDataSourceProcessOptions<RouterContext>['request'];
type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource<RouterContext>['process']>>;

/** Codes a subgraph may return at the HTTP level that the client can act on; anything else is masked. */
const PASS_THROUGH_CODES = new Set<string>([ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.BAD_USER_INPUT]);

/** A subgraph's answer as read off the wire: shared as text by deduplicated fetches, parsed by each of them. */
interface SubgraphAnswer {
  status: number;
  contentType: string;
  cacheControl: string | undefined;
  text: string;
}

/** How a `RouterDataSource` reaches its subgraph (README "Router throughput"). */
export interface SubgraphTransport {
  /** Keep-alive connection pool shared by every subgraph (an undici Agent; default undici's global one). */
  dispatcher?: Dispatcher;
  /** Whether identical in-flight query fetches of one identity share one request (SUBGRAPH_DEDUPLICATION). */
  deduplicate?: boolean;
}

/**
 * Fetches from one subgraph with the router-signed identity token, the request id and trace context, bounded by
 * a timeout, over a pooled keep-alive connection. Failures become coded errors naming the subgraph, never its
 * URL (the stock data source puts the upstream URL and body into the error's extensions). Identical query
 * fetches in flight for the same identity share one request (docs/adr/0022-router-throughput.md).
 */
export class RouterDataSource extends RemoteGraphQLDataSource<RouterContext> {
  readonly #inflight = new Inflight<SubgraphAnswer>();
  readonly #dispatcher: Dispatcher;
  readonly #origin: string;
  readonly #path: string;

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly transport: SubgraphTransport = {},
  ) {
    super({ url });
    this.#dispatcher = transport.dispatcher ?? getGlobalDispatcher();
    const parsed = new URL(url);
    this.#origin = parsed.origin;
    this.#path = `${parsed.pathname}${parsed.search}`;
  }

  /** How many fetches joined an identical one in flight instead of sending their own. */
  get deduplicated(): number {
    return this.#inflight.shared;
  }

  /**
   * The stock `process` without automatic persisted queries (off here), sending through the pool: headers, the
   * router's own (`willSendRequest`), the fetch (deduplicated for queries), the subgraph's cache hints.
   */
  override async process(
    options: GraphQLDataSourceProcessOptions<RouterContext>,
  ): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const headers = new Headers();
    for (const [name, value] of request.http?.headers ?? []) headers.append(name, value);
    headers.set('content-type', 'application/json');
    request.http = { method: 'POST', url: this.url, headers: headers as never };
    await this.willSendRequest(options);
    if (!request.query) throw new Error('Missing query');
    const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
    // Only fetches of a client's query: a mutation's fetches (its entity reads too) always run on their own.
    const shareable =
      this.transport.deduplicate === true &&
      incoming?.operation?.operation === 'query' &&
      'principal' in options.context;
    const response = await this.#fetch(request, options.context as RouterContext, shareable);
    const cachePolicy = incoming?.overallCachePolicy;
    if (this.honorSubgraphCacheControlHeader && cachePolicy && 'restrict' in cachePolicy)
      cachePolicy.restrict(cacheHint(response.http?.headers.get('cache-control') ?? null));
    return response;
  }

  override async willSendRequest({
    request,
    context,
  }: GraphQLDataSourceProcessOptions<RouterContext>): Promise<void> {
    const http = request.http;
    // Requests the gateway makes for itself (health checks) have no router context.
    if (!http || !('routerToken' in context)) return;
    http.headers.set(ROUTER_TOKEN_HEADER, await context.routerToken);
    http.headers.set(REQUEST_ID_HEADER, context.requestId);
    if (context.traceparent) http.headers.set('traceparent', context.traceparent);
  }

  async #fetch(
    request: GatewayGraphQLRequest,
    context: RouterContext,
    shareable: boolean,
  ): Promise<GatewayGraphQLResponse> {
    const http = request.http;
    if (!http) throw new Error("Internal error: Only 'http' requests are supported.");
    const { http: _http, ...payload } = request;
    const body = JSON.stringify(payload);
    const headers = Object.fromEntries(http.headers);
    const send = () => this.#send(http.method, headers, body);
    let answer: SubgraphAnswer;
    try {
      // Keyed by who asks (not the per-request token) and exactly what is asked of which subgraph.
      answer = shareable
        ? await this.#inflight.run(
            `${http.url}\n${identityKey(context.principal, context.clientIp)}\n${body}`,
            send,
          )
        : await send();
    } catch (error) {
      this.didEncounterError(error as Error);
      throw error;
    }
    const response = responseOf(answer);
    if (answer.status < 200 || answer.status > 299) throw await this.errorFromResponse(response);
    // Parsed per caller: the gateway merges into what it receives, so deduplicated callers never share objects.
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.didEncounterError(new Error('the subgraph did not answer with a JSON object'));
      throw new Error('unreachable');
    }
    return { ...(parsed as GatewayGraphQLResponse), http: response };
  }

  async #send(method: string, headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    const {
      statusCode,
      headers: responseHeaders,
      body: stream,
    } = await this.#dispatcher.request({
      origin: this.#origin,
      path: this.#path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const header = (name: string): string | undefined => {
      const value = responseHeaders[name];
      return Array.isArray(value) ? value[0] : value;
    };
    return {
      status: statusCode,
      contentType: header('content-type') ?? '',
      cacheControl: header('cache-control'),
      text: await stream.text(),
    };
  }

  override didEncounterError(error: Error): void {
    if ((error as Partial<GraphQLError>).extensions?.['code'] !== undefined) throw error;
    const code = (error as { code?: string }).code;
    const timedOut =
      error.name === 'TimeoutError' ||
      error.name === 'AbortError' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT';
    this.logger.error({ err: error, subgraph: this.subgraph }, 'subgraph fetch failed');
    throw codedError(
      ErrorCode.SUBGRAPH_UNAVAILABLE,
      timedOut
        ? `The ${this.subgraph} service did not answer in time.`
        : `The ${this.subgraph} service is unavailable.`,
      { subgraph: this.subgraph, ...(timedOut ? { timeoutMs: this.timeoutMs } : {}) },
    );
  }

  override async errorFromResponse(response: Awaited<ReturnType<Fetcher>>): Promise<GraphQLError> {
    let code: unknown;
    try {
      code = ((await response.json()) as { errors?: Array<{ extensions?: { code?: unknown } }> }).errors?.[0]
        ?.extensions?.code;
    } catch {
      // Not JSON: treated as unavailable below.
    }
    if (typeof code === 'string' && PASS_THROUGH_CODES.has(code)) {
      return codedError(code as ErrorCode, `The ${this.subgraph} service refused the request (${code}).`, {
        subgraph: this.subgraph,
      });
    }
    this.logger.error(
      { subgraph: this.subgraph, status: response.status, code },
      'subgraph answered with an HTTP error',
    );
    return codedError(ErrorCode.SUBGRAPH_UNAVAILABLE, `The ${this.subgraph} service is unavailable.`, {
      subgraph: this.subgraph,
    });
  }
}

/** The cache hint a subgraph's `Cache-Control` header gives (as the stock data source reads it). */
function cacheHint(header: string | null): { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } {
  const hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } = { maxAge: 0 };
  if (!header) return hint;
  for (const directive of header.split(',')) {
    const [name = '', value] = directive.trim().toLowerCase().split('=');
    if (name === 'max-age' && value && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
    else if (name === 'private') hint.scope = 'PRIVATE';
    else if (name === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}

/** The fetch-like view of an answer the gateway reads (`cache-control` for the cache policy, the error body). */
function responseOf(answer: SubgraphAnswer): Awaited<ReturnType<Fetcher>> {
  const headers = new Map<string, string>([['content-type', answer.contentType]]);
  if (answer.cacheControl !== undefined) headers.set('cache-control', answer.cacheControl);
  return {
    ok: answer.status >= 200 && answer.status <= 299,
    status: answer.status,
    statusText: '',
    url: '',
    redirected: false,
    headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
    json: async () => JSON.parse(answer.text) as unknown,
    text: async () => answer.text,
  } as unknown as Awaited<ReturnType<Fetcher>>;
}
