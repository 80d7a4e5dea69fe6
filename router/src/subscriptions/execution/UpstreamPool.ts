import { signRouterToken, type Logger, type RouterClaims } from '@cap/runtime';
import {
  createClient,
  type Client,
  type ExecutionResult,
  type Sink,
  type SubscribePayload,
} from 'graphql-ws';
import WebSocket from 'ws';
import type { SubscriptionSettings } from '../settings.js';

/** What an upstream subscription may receive: a result, the subgraph's `error` message, or a transport failure. */
export type UpstreamSink = Sink<ExecutionResult<Record<string, unknown>, unknown>>;

/** One subgraph socket shared by the subscriptions of one client connection. */
export interface Upstream {
  subscribe(payload: SubscribePayload, sink: UpstreamSink): () => void;
  /** Calls `listener` each time the socket is (re)acknowledged by the subgraph. */
  onConnected(listener: () => void): () => void;
}

export interface UpstreamPoolOptions {
  /** Shared with the subgraphs; signs the identity token of each connection. */
  internalTokenSecret: string;
  /** The identity to pass, read at each (re)connection: a re-authenticated client's newest principal. */
  claims: () => RouterClaims;
  /** The graphql-ws URL of a subgraph now (follows supergraph reloads); undefined = unknown subgraph. */
  urlOf: (subgraph: string) => string | undefined;
  settings: SubscriptionSettings;
  logger: Logger;
}

/**
 * The router's graphql-ws connections to subgraphs for one client connection: one socket per subgraph, opened on
 * first use, carrying all of that client's subscriptions to it. Each (re)connection signs a fresh router token
 * (they live 60 s; the subgraph checks it once, in `connection_init`). The pool never retries by itself: a
 * subscription whose socket dropped resubscribes with its resume cursor (see `FederatedSubscription`).
 */
export class UpstreamPool {
  readonly #clients = new Map<string, { client: Client; listeners: Set<() => void> }>();

  constructor(private readonly options: UpstreamPoolOptions) {}

  /** The socket to `subgraph`, or undefined when the supergraph names no such subgraph. */
  get(subgraph: string): Upstream | undefined {
    let entry = this.#clients.get(subgraph);
    if (!entry) {
      if (!this.options.urlOf(subgraph)) return undefined;
      entry = { client: this.#create(subgraph), listeners: new Set() };
      this.#clients.set(subgraph, entry);
    }
    const { client, listeners } = entry;
    return {
      subscribe: (payload, sink) => client.subscribe(payload, sink),
      onConnected: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }

  /** Sockets open or opening. */
  get size(): number {
    return this.#clients.size;
  }

  async dispose(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map(({ client }) => client.dispose()));
  }

  #create(subgraph: string): Client {
    const { settings, logger } = this.options;
    let lastUrl = this.options.urlOf(subgraph) ?? '';
    let pongTimer: NodeJS.Timeout | undefined;
    const client = createClient({
      // Evaluated per connection: a reload that moved the subgraph is followed on the next reconnect.
      url: () => (lastUrl = this.options.urlOf(subgraph) ?? lastUrl),
      webSocketImpl: WebSocket,
      connectionParams: async () => ({
        routerToken: await signRouterToken(this.options.internalTokenSecret, this.options.claims()),
      }),
      lazy: true,
      lazyCloseTimeout: 0,
      // Subscriptions resume with their own cursor; graphql-ws' own retry would resend the original arguments.
      retryAttempts: 0,
      keepAlive: settings.upstreamKeepAliveMs,
      on: {
        // A socket that stops answering pings (a frozen or partitioned instance) is dropped and reconnected.
        ping: (received) => {
          if (received || settings.upstreamPongTimeoutMs <= 0) return;
          clearTimeout(pongTimer);
          pongTimer = setTimeout(() => client.terminate(), settings.upstreamPongTimeoutMs);
          pongTimer.unref();
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        connected: () => {
          for (const listener of this.#clients.get(subgraph)?.listeners ?? []) listener();
        },
        closed: (event) => {
          clearTimeout(pongTimer);
          const code = (event as { code?: number } | undefined)?.code;
          if (code !== 1000) logger.debug({ subgraph, code }, 'subgraph subscription socket closed');
        },
      },
    });
    return client;
  }
}
