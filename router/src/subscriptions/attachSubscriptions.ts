import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  answeringUnexpectedErrors,
  ErrorCode,
  httpStatusOf,
  sendGraphQLError,
  type Logger,
} from '@cap/runtime';
import type { Authenticator } from '../authenticate.js';
import type { RouterConfig } from '../config.js';
import { ConnectionLimiter } from './transport/ConnectionLimiter.js';
import { GraphQLWsEndpoint } from './transport/GraphQLWsEndpoint.js';
import { resolveSubscriptionSettings, type SubscriptionSettings } from './settings.js';
import { SseEndpoint } from './transport/SseEndpoint.js';
import {
  SubscriptionEngine,
  type FinishEvent,
  type PrepareOperation,
} from './execution/SubscriptionEngine.js';
import type { SupergraphFeed } from './execution/supergraphFeed.js';

/** The router's GraphQL path, where graphql-ws upgrades are accepted. */
const GRAPHQL_PATH = '/graphql';

export interface AttachSubscriptionsOptions {
  /** The router's HTTP server: WebSocket upgrades on `/graphql`, SSE on `settings.ssePath`. */
  server: Server;
  /** The router's configuration; `subscriptions` (optional) overrides the defaults of `settings.ts`. */
  config: RouterConfig & { subscriptions?: Partial<SubscriptionSettings> };
  authenticator: Authenticator;
  /** The supergraph the gateway serves, followed across reloads. */
  supergraph: SupergraphFeed;
  logger: Logger;
  /** The router's policies, run when a subscription starts; undefined = validation against the API schema only. */
  prepareOperation: PrepareOperation | undefined;
  /** Applied to each event's result with what `prepareOperation` decided (e.g. denials of filtered fields). */
  finishEvent?: FinishEvent;
}

export interface RunningSubscriptions {
  settings: SubscriptionSettings;
  /** What is open now: client connections (WebSocket + SSE), running WebSocket subscriptions, sockets to subgraphs. */
  stats(): {
    connections: number;
    webSocketConnections: number;
    sseStreams: number;
    subscriptions: number;
    upstreamSockets: number;
    /** Upstream subscriptions shared by identical client subscriptions (each on a socket of its own). */
    sharedUpstreams: number;
  };
  /** Ends every subscription connection (1001 for WebSockets) and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * Serves federated subscriptions on the router's HTTP server: graphql-ws on `/graphql` (HTTP upgrade) and
 * graphql-sse on `settings.ssePath`, both authenticated like `POST /graphql` and executed across subgraphs by
 * the {@link SubscriptionEngine}. Call right after the server is created, and `close()` before closing it.
 * See docs/adr/0008-router-subscriptions.md.
 */
export function attachSubscriptions(options: AttachSubscriptionsOptions): RunningSubscriptions {
  const { server, config, authenticator } = options;
  const settings = resolveSubscriptionSettings(config.subscriptions);
  const logger = options.logger.child({ component: 'subscriptions' });
  const engine = new SubscriptionEngine({
    feed: options.supergraph,
    subgraphUrls: config.subgraphUrls,
    subgraphTimeoutMs: config.subgraphTimeoutMs,
    prepareOperation: options.prepareOperation,
    finishEvent: options.finishEvent,
    settings,
    logger,
    internalTokenSecret: config.internalTokenSecret,
  });
  const limiter = new ConnectionLimiter(settings.maxConnections, settings.maxConnectionsPerAddress);
  const shared = {
    engine,
    authenticator,
    limiter,
    internalTokenSecret: config.internalTokenSecret,
    trustProxy: config.trustProxy,
    settings,
    logger,
  };
  const webSockets = new GraphQLWsEndpoint({ ...shared, maxPayloadBytes: config.maxBodyBytes });
  const sse = new SseEndpoint({
    ...shared,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
  });
  let closing = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://router').pathname;
    if (closing || path !== GRAPHQL_PATH) {
      socket.end(
        `HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      );
      return;
    }
    webSockets.handleUpgrade(req, socket, head);
  };
  server.on('upgrade', onUpgrade);

  // The SSE path is answered here, ahead of the router's own request handler (which 404s paths it does not
  // know); CORS preflights (OPTIONS) still go to the router's handler, which answers them for every path.
  const routerListeners = server.listeners('request') as Array<
    (req: IncomingMessage, res: ServerResponse) => void
  >;
  server.removeAllListeners('request');
  const handleStream = answeringUnexpectedErrors(
    (req, res) => sse.handle(req, res),
    logger,
    'unhandled error in the subscription stream endpoint',
  );
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const isStream =
      req.method !== 'OPTIONS' && new URL(req.url ?? '/', 'http://router').pathname === settings.ssePath;
    if (!isStream) {
      for (const listener of routerListeners) listener.call(server, req, res);
      return;
    }
    if (closing)
      return sendGraphQLError(
        res,
        httpStatusOf(ErrorCode.SUBGRAPH_UNAVAILABLE),
        ErrorCode.SUBGRAPH_UNAVAILABLE,
        'The router is shutting down.',
        {
          'retry-after': '1',
        },
      );
    handleStream(req, res);
  };
  server.on('request', onRequest);

  return {
    settings,
    stats: () => ({
      connections: limiter.size,
      webSocketConnections: webSockets.size,
      sseStreams: sse.size,
      subscriptions: webSockets.subscriptions + sse.size,
      upstreamSockets: webSockets.upstreamSockets,
      sharedUpstreams: engine.sharing?.groups ?? 0,
    }),
    close: async () => {
      closing = true;
      server.off('upgrade', onUpgrade);
      sse.close();
      await webSockets.close();
      engine.close();
    },
  };
}
