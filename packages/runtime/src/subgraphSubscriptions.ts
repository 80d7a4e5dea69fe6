import type { IncomingMessage, Server } from 'node:http';
import type { BaseContext } from '@apollo/server';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { graphqlRuntime } from './graphqlRuntime.js';
import { verifyRouterToken, type RouterClaims } from './internalToken.js';
import { SharedEventExecution } from './sharedExecution.js';
import { SharedPayloads, type OutgoingMessage } from './sharedPayloads.js';
import { maskSubscriptionError } from './subgraphErrors.js';
import { sendWithBackPressure } from './webSocketSend.js';

/** What the subgraph's subscription endpoint needs (a subset of the subgraph server's options). */
export interface SubgraphSubscriptionOptions<TContext extends BaseContext> {
  schema: ExecutionArgs['schema'];
  internalTokenSecret: string;
  logger: Logger;
  context: (input: {
    claims: RouterClaims;
    logger: Logger;
    req: IncomingMessage;
  }) => Promise<TContext> | TContext;
  path: string;
  maxPayloadBytes: number;
  /** WebSocket-level ping; a socket that does not pong within the same time is dropped (ms, default 12,000). */
  keepAliveMs?: number;
}

/** The running endpoint: how to close it, and its shared execution (its counters, for tests and benchmarks). */
export interface SubgraphSubscriptions {
  execution: SharedEventExecution;
  close(): Promise<void>;
}

/** What a subscription connection carries once the router token in `connection_init` was verified. */
interface ConnectionExtra {
  claims?: RouterClaims;
  request: IncomingMessage;
}

/**
 * graphql-ws (`graphql-transport-ws`) on the GraphQL path, for the router only: `connection_init` must carry
 * `{ routerToken }`, verified like the HTTP header; anything else is closed with 4403 Forbidden. The identity in
 * the token holds for the connection's lifetime: the router re-checks its own clients' credentials and closes
 * the upstream when they lapse.
 *
 * Work per event is done once, not once per subscriber (ADR 0021): identical operations are parsed and validated
 * once, each event is executed once per (document, variables, identity) among the subscribers receiving it
 * ({@link SharedEventExecution}), and its result is masked and serialised once. Sending is buffered up to a
 * bound per socket ({@link sendWithBackPressure}), so a burst reaches every subscriber in a few turns of the
 * event loop while a slow reader still holds up only its own streams.
 */
export function serveSubgraphSubscriptions<TContext extends BaseContext>(
  server: Server,
  options: SubgraphSubscriptionOptions<TContext>,
): SubgraphSubscriptions {
  const { logger, schema } = options;
  const execution = new SharedEventExecution(schema);
  const payloads = new SharedPayloads();
  // Same masking as HTTP: coded errors pass, anything unexpected is logged and sent as INTERNAL_SERVER_ERROR.
  const serialise = (result: ExecutionResult): string =>
    JSON.stringify(
      result.errors
        ? { ...result, errors: result.errors.map((error) => maskSubscriptionError(error, logger)) }
        : result,
    );
  const expand = (data: string): OutgoingMessage => payloads.expand(data);

  const protocol = makeServer<Record<string, unknown>, ConnectionExtra>({
    schema,
    // The router sends connection_init at once; a busy router may take longer than graphql-ws's 3 s default,
    // and closing with 4408 then only makes it reconnect and resubscribe, adding load.
    connectionInitWaitTimeout: 10_000,
    onConnect: async (ctx) => {
      const token = ctx.connectionParams?.['routerToken'];
      const verified = await verifyRouterToken(
        options.internalTokenSecret,
        typeof token === 'string' ? token : undefined,
      );
      if (!verified.ok) {
        logger.warn({ reason: verified.reason }, 'subscription connection without a valid router token');
        return false;
      }
      ctx.extra.claims = verified.claims;
      return true;
    },
    // Parsed and validated once per distinct text; identical subscriptions then share one document object.
    onSubscribe: (_ctx, _id, payload) => {
      let entry: ReturnType<SharedEventExecution['document']>;
      try {
        entry = execution.document(payload.query);
      } catch (error) {
        if (error instanceof graphqlRuntime.GraphQLError) return [error];
        throw error;
      }
      if (entry.errors.length > 0) return [...entry.errors];
      return {
        schema,
        document: entry.document,
        operationName: payload.operationName ?? undefined,
        variableValues: payload.variables ?? undefined,
      };
    },
    context: async (ctx) => {
      const claims = ctx.extra.claims;
      if (!claims) throw new Error('subscription context without verified claims');
      const requestLogger = logger.child({ requestId: claims.requestId });
      const context = await options.context({ claims, logger: requestLogger, req: ctx.extra.request });
      execution.registerContext(context, claims.principal);
      return context;
    },
    subscribe: (args) => execution.subscribe(args),
    execute: (args) => graphqlRuntime.execute(args),
    onError: (_ctx, _id, _payload, errors) => errors.map((error) => maskSubscriptionError(error, logger)),
    onNext: (_ctx, _id, _payload, _args, result) => payloads.placeholder(result, serialise),
  });

  const wss = new WebSocketServer({
    server,
    path: options.path,
    maxPayload: options.maxPayloadBytes,
    handleProtocols,
  });
  wss.on('error', (error) => logger.error({ err: error }, 'subscription server error'));
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) =>
    accept(ws, request, protocol, expand, options),
  );
  return {
    execution,
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Drives one socket with graphql-ws' protocol, as graphql-ws' own `ws` adapter does, with bounded buffering. */
function accept<TContext extends BaseContext>(
  ws: WebSocket,
  request: IncomingMessage,
  protocol: ReturnType<typeof makeServer<Record<string, unknown>, ConnectionExtra>>,
  expand: (data: string) => OutgoingMessage,
  options: SubgraphSubscriptionOptions<TContext>,
): void {
  const { logger } = options;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  let pongWait: NodeJS.Timeout | undefined;
  const pinger =
    keepAliveMs > 0
      ? setInterval(() => {
          if (ws.readyState !== ws.OPEN) return;
          pongWait = setTimeout(() => ws.terminate(), keepAliveMs);
          ws.once('pong', () => clearTimeout(pongWait));
          ws.ping();
        }, keepAliveMs)
      : undefined;
  const closeInternal = (error: unknown): void => {
    logger.error({ err: error }, 'unexpected error handling a subscription message');
    ws.close(CloseCode.InternalServerError as number, 'Internal server error');
  };
  ws.once('error', (error) => {
    logger.warn({ err: error }, 'subscription socket error');
    ws.close(CloseCode.InternalServerError as number, 'Internal server error');
  });
  const closed = protocol.opened(
    {
      protocol: ws.protocol,
      send: (data) => sendWithBackPressure(ws, expand(data)),
      close: (code, reason) => ws.close(code, reason),
      onMessage: (handle) =>
        ws.on('message', (data: Buffer) => {
          handle(data.toString('utf8')).catch(closeInternal);
        }),
    },
    { request },
  );
  ws.once('close', (code, reason) => {
    clearInterval(pinger);
    clearTimeout(pongWait);
    closed(code, reason.toString('utf8')).catch((error: unknown) =>
      logger.error({ err: error }, 'failed to end the subscriptions of a closed connection'),
    );
  });
}
