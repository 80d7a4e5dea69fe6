import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { codedError, ErrorCode, REQUEST_ID_HEADER, ROUTER_TOKEN_HEADER, type Logger } from '@cap/runtime';
import type { GraphQLError } from 'graphql';
import type { RouterContext } from './routerContext.js';

/** Codes a subgraph may return at the HTTP level that the client can act on; anything else is masked. */
const PASS_THROUGH_CODES = new Set<string>([ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.BAD_USER_INPUT]);

/**
 * Fetches from one subgraph with the router-signed identity token, the request id and trace context, bounded by
 * a timeout. Failures become coded errors naming the subgraph, never its URL (the stock data source puts the
 * upstream URL and body into the error's extensions).
 */
export class RouterDataSource extends RemoteGraphQLDataSource<RouterContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    super({ url });
    // Node's fetch (undici): pooled keep-alive connections and an abort signal per call for the timeout.
    this.fetcher = ((input: string, init?: RequestInit) =>
      fetch(input, { ...init, signal: AbortSignal.timeout(this.timeoutMs) })) as unknown as Fetcher;
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

  override didEncounterError(error: Error): void {
    if ((error as Partial<GraphQLError>).extensions?.['code'] !== undefined) throw error;
    const timedOut = error.name === 'TimeoutError' || error.name === 'AbortError';
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
