import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientAddress, ErrorCode, sendWithBackPressure, SharedPayloads } from '@cap/runtime';
import { buildSchema, parse, type ExecutionArgs, type GraphQLFormattedError } from 'graphql';
import { handleProtocols, makeServer, MessageType, stringifyMessage, type ServerOptions } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { requestIdFrom } from '../../authenticate.js';
import { maskError } from '../../maskError.js';
import { SubscriptionCloseCode } from './closeCodes.js';
import type { FederatedSubscription } from '../execution/FederatedSubscription.js';
import { SubscriptionFailure } from '../execution/SubscriptionFailure.js';
import { WsConnection, type GraphQLWsEndpointOptions } from './WsConnection.js';

export type { GraphQLWsEndpointOptions } from './WsConnection.js';

/** What graphql-ws carries for each socket. */
interface Extra {
  connection: WsConnection;
}

/** What the router hands graphql-ws as the context of a subscription it runs itself. */
interface RunContext {
  subscription: FederatedSubscription | AsyncIterableIterator<never>;
}

/**
 * graphql-ws (`graphql-transport-ws`) for clients on the router's GraphQL path. The protocol (message validation,
 * init timeout, duplicate ids) is graphql-ws' `makeServer`; the router adds authentication in `connection_init`,
 * credential expiry and renewal, connection caps, and runs every subscription across the federation itself.
 */
export class GraphQLWsEndpoint {
  readonly #wss: WebSocketServer;
  readonly #protocol: ReturnType<typeof makeServer<Record<string, unknown>, Extra>>;
  readonly #connections = new Set<WsConnection>();
  readonly #payloads = new SharedPayloads();

  constructor(private readonly options: GraphQLWsEndpointOptions) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, handleProtocols });
    this.#protocol = makeServer<Record<string, unknown>, Extra>(this.#serverOptions());
  }

  /** Connections open now. */
  get size(): number {
    return this.#connections.size;
  }

  /** Subscriptions running now, over every connection. */
  get subscriptions(): number {
    let count = 0;
    for (const connection of this.#connections) count += connection.running;
    return count;
  }

  /** Sockets to subgraphs open now. */
  get upstreamSockets(): number {
    let count = 0;
    for (const connection of this.#connections) count += connection.session?.upstreams.size ?? 0;
    return count;
  }

  /** Takes over an HTTP upgrade on the GraphQL path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req));
  }

  /** Closes every connection with 1001 (clients reconnect to another instance) and stops accepting. */
  async close(): Promise<void> {
    for (const connection of this.#connections)
      connection.close(SubscriptionCloseCode.GOING_AWAY, 'Server shutting down');
    await Promise.allSettled([...this.#connections].map((connection) => connection.disposed));
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const { logger, limiter, settings } = this.options;
    const clientIp = clientAddress(req, this.options.trustProxy);
    const release = limiter.acquire(clientIp);
    if (!release) {
      logger.warn({ clientIp }, 'subscription connection refused: too many connections');
      ws.close(SubscriptionCloseCode.TOO_MANY_REQUESTS, 'Too many connections');
      return;
    }
    const connection = new WsConnection(ws, requestIdFrom(req.headers), clientIp, this.options);
    this.#connections.add(connection);

    // WebSocket-level keep-alive: a client that stops answering pings is dropped (its subscriptions end).
    let pongWait: NodeJS.Timeout | undefined;
    const pinger =
      settings.keepAliveMs > 0
        ? setInterval(() => {
            if (ws.readyState !== ws.OPEN) return;
            pongWait = setTimeout(() => ws.terminate(), settings.keepAliveMs);
            ws.once('pong', () => clearTimeout(pongWait));
            ws.ping();
          }, settings.keepAliveMs)
        : undefined;

    const closed = this.#protocol.opened(
      {
        protocol: ws.protocol,
        // Bounded buffering: a burst reaches the client in a few turns of the event loop, not one event per turn.
        send: (data) => sendWithBackPressure(ws, this.#payloads.expand(data)),
        close: (code, reason) =>
          connection.close(code ?? SubscriptionCloseCode.INTERNAL_SERVER_ERROR, reason ?? ''),
        onMessage: (handle) =>
          ws.on('message', (data: Buffer) => {
            handle(data.toString('utf8')).catch((error: unknown) => {
              logger.error(
                { err: error, requestId: connection.requestId },
                'unexpected error handling a subscription message',
              );
              connection.close(SubscriptionCloseCode.INTERNAL_SERVER_ERROR, 'Internal server error');
            });
          }),
        // A ping may carry fresh credentials (see ADR 0008): answered with a pong once they are checked.
        onPing: async (payload) => {
          const reply = await connection.onPing(payload);
          if (ws.readyState !== ws.OPEN) return;
          await new Promise<void>((resolve) =>
            ws.send(
              stringifyMessage(
                reply ? { type: MessageType.Pong, payload: reply } : { type: MessageType.Pong },
              ),
              () => resolve(),
            ),
          );
        },
      },
      { connection },
    );
    ws.on('error', (error) => {
      logger.debug({ err: error, requestId: connection.requestId }, 'subscription socket error');
      connection.close(SubscriptionCloseCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    });
    ws.once('close', (code, reason) => {
      clearInterval(pinger);
      clearTimeout(pongWait);
      this.#connections.delete(connection);
      release();
      connection.dispose(closed(code, reason.toString('utf8')));
    });
  }

  #serverOptions(): ServerOptions<Record<string, unknown>, Extra> {
    const { engine, logger, settings } = this.options;
    return {
      connectionInitWaitTimeout: settings.connectionInitTimeoutMs,
      onConnect: (ctx) => ctx.extra.connection.connect(ctx.connectionParams),
      onSubscribe: async (ctx, id, payload) => {
        const { connection } = ctx.extra;
        const session = connection.session;
        if (!session)
          return refusal([{ message: 'Unauthorized.', extensions: { code: ErrorCode.UNAUTHENTICATED } }]);
        const running = Object.keys(ctx.subscriptions).length;
        if (running > settings.maxSubscriptionsPerConnection) {
          return refusal([
            {
              message: `A connection runs at most ${settings.maxSubscriptionsPerConnection} subscriptions at once.`,
              extensions: {
                code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
                limit: 'subscriptionsPerConnection',
                max: settings.maxSubscriptionsPerConnection,
                actual: running,
              },
            },
          ]);
        }
        const started = await engine.start(
          {
            query: payload.query,
            operationName: payload.operationName ?? undefined,
            variables: payload.variables ?? {},
          },
          session,
        );
        if (started.kind === 'refuse') return refusal(started.errors);
        connection.started(id);
        const args: ExecutionArgs = {
          schema: started.schema,
          document: started.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { subscription: started.subscription } satisfies RunContext,
        };
        return args;
      },
      // The router runs the subscription itself (never graphql-js): the context carries it.
      subscribe: (args) => (args.contextValue as RunContext).subscription as never,
      execute: () => {
        throw new Error('only subscriptions are accepted over WebSocket');
      },
      // Results are formatted and masked already (FederatedSubscription), and shared by the members of a group:
      // serialised once for all of them (ADR 0021).
      onNext: (_ctx, _id, _payload, _args, result) => this.#payloads.placeholder(result),
      onError: (_ctx, _id, _payload, errors) =>
        errors.flatMap((error) =>
          error.originalError instanceof SubscriptionFailure
            ? [...error.originalError.errors]
            : [maskError(error.toJSON(), error, logger)],
        ),
      onComplete: (ctx, id) => ctx.extra.connection.finished(id),
    };
  }
}

/**
 * Execution arguments that make graphql-ws send `errors` as the `error` message, exactly as formatted. (Returning
 * GraphQLError[] from `onSubscribe` would need them to be instances of graphql-ws' own copy of graphql, which
 * test runners and bundlers may load twice; a failing iterator goes through `onError` instead.)
 */
function refusal(errors: readonly GraphQLFormattedError[]): ExecutionArgs {
  const failure = new SubscriptionFailure(errors);
  const refused: AsyncIterableIterator<never> = {
    [Symbol.asyncIterator]: () => refused,
    next: () => Promise.reject(failure),
    return: async () => ({ done: true, value: undefined }),
  };
  return {
    schema: PLACEHOLDER_SCHEMA,
    document: REFUSED_DOCUMENT,
    contextValue: { subscription: refused } satisfies RunContext,
  };
}

/** Never executed: graphql-ws only reads the operation type from it. */
const REFUSED_DOCUMENT = parse('subscription Refused { __typename }');
const PLACEHOLDER_SCHEMA = buildSchema(
  'type Query { refused: Boolean } type Subscription { refused: Boolean }',
);
