import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BodyTooLargeError,
  clientAddress,
  codedError,
  ErrorCode,
  httpStatusOf,
  readBody,
  REQUEST_ID_HEADER,
  sendGraphQLError,
  type Logger,
  type TrustedProxies,
} from '@cap/runtime';
import type { FormattedExecutionResult } from 'graphql';
import { createHandler, type ExecutionResult, type Handler, type Response as SseResponse } from 'graphql-sse';
import { AuthenticationError, requestIdFrom, type Authenticator } from '../../authenticate.js';
import type { ConnectionLimiter } from './ConnectionLimiter.js';
import type { FederatedSubscription } from '../execution/FederatedSubscription.js';
import type { SubscriptionSettings } from '../settings.js';
import { authenticateCredentials, SubscriberSession } from '../session/SubscriberSession.js';
import type { SubscriptionEngine } from '../execution/SubscriptionEngine.js';
import { SubscriptionFailure } from '../execution/SubscriptionFailure.js';
import { watchCredentials, type CredentialLapse } from '../session/watchCredentials.js';

export interface SseEndpointOptions {
  engine: SubscriptionEngine;
  authenticator: Authenticator;
  limiter: ConnectionLimiter;
  internalTokenSecret: string;
  trustProxy: TrustedProxies;
  maxBodyBytes: number;
  /** Origins allowed by CORS, as the router's (`*` = any). */
  corsOrigins: readonly string[];
  settings: SubscriptionSettings;
  logger: Logger;
}

/** Per-request state the graphql-sse handler carries. */
interface SseContext {
  requestId: string;
  clientIp: string;
  session: SubscriberSession | undefined;
}

/**
 * GraphQL over Server-Sent Events (graphql-sse, "distinct connections" mode) for clients without WebSocket:
 * `POST <ssePath>` with `Accept: text/event-stream` and a JSON body `{ query, variables, operationName }` (or
 * `GET` with them in the query string). Credentials in the request headers, as on `POST /graphql`; the same
 * policies and the same federated execution as the WebSocket endpoint. A refused request gets the JSON
 * `{ errors }` and status of the equivalent `POST /graphql`; a subscription that fails later, or whose credentials
 * expire or are revoked, ends its stream with a last `next` event carrying the coded error.
 */
export class SseEndpoint {
  readonly #handler: Handler<IncomingMessage, SseContext>;
  readonly #open = new Set<ServerResponse>();

  constructor(private readonly options: SseEndpointOptions) {
    this.#handler = createHandler<IncomingMessage, SseContext>({
      // No reservation tokens: the single-connection mode (PUT, then GET with a token) is not offered.
      authenticate: () => null,
      onSubscribe: (req, params) =>
        this.#subscribe(req.raw, req.context, {
          query: params.query,
          operationName: params.operationName ?? undefined,
          variables: params.variables ?? {},
        }),
    });
  }

  /** Streams open now. */
  get size(): number {
    return this.#open.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger, limiter, maxBodyBytes } = this.options;
    const requestId = requestIdFrom(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    this.#applyCors(req, res);
    const clientIp = clientAddress(req, this.options.trustProxy);
    let body: string | null = null;
    if (req.method === 'POST') {
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return sendGraphQLError(
            res,
            httpStatusOf(ErrorCode.PAYLOAD_TOO_LARGE),
            ErrorCode.PAYLOAD_TOO_LARGE,
            error.message,
            {},
            { limitBytes: maxBodyBytes },
          );
        }
        throw error;
      }
    }
    const release = limiter.acquire(clientIp);
    if (!release) {
      logger.warn({ clientIp }, 'subscription stream refused: too many connections');
      return sendGraphQLError(
        res,
        httpStatusOf(ErrorCode.RATE_LIMITED),
        ErrorCode.RATE_LIMITED,
        'Too many open subscription connections.',
        { 'retry-after': '5' },
        { retryAfterSeconds: 5 },
      );
    }
    const context: SseContext = { requestId, clientIp, session: undefined };
    try {
      const [responseBody, init] = await this.#handler({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: {
          get: (key) => {
            const value = req.headers[key.toLowerCase()];
            return Array.isArray(value) ? value.join('\n') : value;
          },
        },
        body,
        raw: req,
        context,
      });
      res.writeHead(init.status, init.statusText, init.headers);
      if (!responseBody || typeof responseBody === 'string') {
        res.end(responseBody ?? undefined);
        return;
      }
      this.#open.add(res);
      const stop = (): void => void responseBody.return(undefined);
      res.once('close', stop);
      for await (const chunk of responseBody) {
        if (!res.writable) break;
        await new Promise<void>((resolve, reject) =>
          res.write(chunk, (error) => (error ? reject(error) : resolve())),
        );
      }
      res.off('close', stop);
      res.end();
    } finally {
      this.#open.delete(res);
      release();
      await context.session?.dispose();
    }
  }

  /** Ends every open stream (the router is shutting down; clients reconnect). */
  close(): void {
    for (const res of this.#open) res.end();
  }

  async #subscribe(
    req: IncomingMessage,
    context: SseContext,
    request: { query: string; operationName: string | undefined; variables: Record<string, unknown> },
  ): Promise<SseResponse | AsyncIterable<ExecutionResult>> {
    const { authenticator, engine, logger, settings, internalTokenSecret } = this.options;
    let authenticated;
    try {
      authenticated = await authenticateCredentials(authenticator, req.headers, context.requestId);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      logger.info(
        { requestId: context.requestId, reason: error.reason, clientIp: context.clientIp },
        'subscription credentials refused',
      );
      const status = error.reason === 'identity_unavailable' ? 503 : 401;
      return json(
        status,
        { errors: [codedError(ErrorCode.UNAUTHENTICATED, error.message).toJSON()] },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    }
    const session = new SubscriberSession({
      ...authenticated,
      requestId: context.requestId,
      clientIp: context.clientIp,
      internalTokenSecret,
      upstream: { urlOf: (subgraph) => engine.webSocketUrlOf(subgraph), settings, logger },
    });
    context.session = session;
    const started = await engine.start(request, session);
    if (started.kind === 'refuse')
      return json(Math.max(400, started.status), { errors: started.errors }, started.headers);
    return new SseEvents(started.subscription, (onLapse) =>
      watchCredentials({
        session,
        authenticator,
        apiKeyRecheckMs: settings.apiKeyRecheckMs,
        logger,
        onLapse,
      }),
    );
  }

  #applyCors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    const allowed = this.options.corsOrigins;
    if (origin && (allowed.includes('*') || allowed.includes(origin))) {
      res.setHeader('access-control-allow-origin', allowed.includes('*') ? '*' : origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
    }
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): SseResponse {
  return [
    JSON.stringify(body),
    {
      status,
      statusText: status === 401 ? 'Unauthorized' : 'Refused',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    },
  ];
}

/**
 * A subscription as SSE events: its results, then, if it ends with errors (refused by the subgraph, subgraph
 * unavailable) or its credentials lapse, one last result carrying them. `return()` stops the subscription at
 * once, even while it waits for an event (the client went away).
 */
class SseEvents implements AsyncIterableIterator<ExecutionResult> {
  #done = false;
  #lapsed: ((lapse: CredentialLapse) => void) | undefined;
  readonly #lapse: Promise<CredentialLapse>;
  readonly #stopWatching: () => void;

  constructor(
    private readonly subscription: FederatedSubscription,
    watch: (onLapse: (lapse: CredentialLapse) => void) => () => void,
  ) {
    this.#lapse = new Promise((resolve) => (this.#lapsed = resolve));
    this.#stopWatching = watch((lapse) => this.#lapsed?.(lapse));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.#done) return { done: true, value: undefined };
    try {
      const next = await Promise.race([this.subscription.next(), this.#lapse]);
      if ('reason' in next) {
        await this.#finish();
        return {
          done: false,
          value: asSseResult({
            errors: [codedError(ErrorCode.UNAUTHENTICATED, next.message, { reason: next.reason }).toJSON()],
          }),
        };
      }
      if (next.done) await this.#finish();
      return next.done ? { done: true, value: undefined } : { done: false, value: asSseResult(next.value) };
    } catch (error) {
      await this.#finish();
      if (error instanceof SubscriptionFailure)
        return { done: false, value: asSseResult({ errors: error.errors }) };
      throw error;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.#finish();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.#finish();
    throw error;
  }

  async #finish(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#stopWatching();
    await this.subscription.return();
  }
}

/** graphql-sse serialises results with JSON.stringify: formatted errors go out as they are. */
function asSseResult(result: FormattedExecutionResult): ExecutionResult {
  return result as unknown as ExecutionResult;
}
