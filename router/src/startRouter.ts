import type { Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { Agent } from 'undici';
import { closeServer, createHttpServer, listen, type KeyValueStore, type Logger } from '@cap/runtime';
import { Authenticator } from './authenticate.js';
import type { RouterConfig } from './config.js';
import { graphqlHttpHandler, type ExecutedOperation } from './graphqlHttp.js';
import { GRAPHQL_PATH, routerHttpHandler } from './httpHandler.js';
import { maskError } from './maskError.js';
import { OperationPolicy } from './policy/OperationPolicy.js';
import { POLICIES } from './policy/policies.js';
import { RateLimiter } from './policy/rateLimiter.js';
import { loadSupergraphPolicy } from './policy/supergraphPolicy.js';
import { routerReadiness } from './readiness.js';
import type { RevocationFeed } from './revocation/RevocationFeed.js';
import { RouterDataSource } from './RouterDataSource.js';
import type { RouterContext } from './routerContext.js';
import { Inflight } from './speed/Inflight.js';
import { supergraphSource } from './supergraph.js';
import { attachSubscriptions, type RunningSubscriptions } from './subscriptions/attachSubscriptions.js';
import { SupergraphFeed } from './subscriptions/execution/supergraphFeed.js';

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
  /** How many operations and subgraph fetches joined an identical one in flight so far (ADR 0022). */
  deduplicated(): { operations: number; fetches: number };
  server: Server;
  /** What the subscription endpoints hold open now (connections, subscriptions, upstream sockets and groups). */
  subscriptionStats(): ReturnType<RunningSubscriptions['stats']>;
  close(): Promise<void>;
}

/**
 * Starts the router: authentication, the router-signed identity token for subgraphs, query planning and
 * execution through @apollo/gateway (`graphqlHttp.ts`), subscriptions, `/health` and `/ready`.
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
  // Keep-alive connections to the subgraphs, pooled per origin and shared by every data source.
  const subgraphPool = new Agent({ connections: config.subgraphConnections, keepAliveTimeout: 30_000 });
  // The data sources of the supergraph served now (replaced per subgraph name on every reload).
  const dataSources = new Map<string, RouterDataSource>();
  const executions = new Inflight<ExecutedOperation>();
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
    buildService: ({ name, url }) => {
      const dataSource = new RouterDataSource(
        name,
        config.subgraphUrls[name] ?? url ?? '',
        config.subgraphTimeoutMs,
        logger,
        { dispatcher: subgraphPool, deduplicate: config.subgraphDeduplication },
      );
      dataSources.set(name, dataSource);
      return dataSource;
    },
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

  const server = createHttpServer(
    routerHttpHandler({
      corsOrigins: config.corsOrigins,
      readiness: routerReadiness({ config, kv: options.kv, revocations: options.revocations }),
      development: config.nodeEnv === 'development',
      graphql: graphqlHttpHandler({
        config,
        authenticator,
        apollo,
        currentPolicy: () => policy,
        executions,
        logger,
      }),
      githubUrl: config.githubUrl,
      logger,
    }),
  );
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
    deduplicated: () => ({
      operations: executions.shared,
      fetches: [...dataSources.values()].reduce((sum, dataSource) => sum + dataSource.deduplicated, 0),
    }),
    subscriptionStats: () => subscriptions.stats(),
    close: async () => {
      await subscriptions.close();
      await closeServer(server);
      await apollo.stop();
      await limiter.close();
      await subgraphPool.close();
    },
  };
}
