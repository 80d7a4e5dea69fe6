import { codedError, ErrorCode, httpStatusOf, type Logger } from '@cap/runtime';
import type { DocumentNode, FormattedExecutionResult, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { PolicyOutcome, PrepareInput, Prepared } from '../../policy/OperationPolicy.js';
import { FederatedSubscription } from './FederatedSubscription.js';
import { LoadedSupergraph, type PlannedSubscription } from './LoadedSupergraph.js';
import { RESUME_VARIABLE } from './resumableFields.js';
import { SharedSubscriptions } from './SharedSubscriptions.js';
import type { SubscriptionSettings } from '../settings.js';
import type { SubscriberSession } from '../session/SubscriberSession.js';
import { INTERNAL_ERROR } from './SubscriptionFailure.js';
import type { SupergraphFeed } from './supergraphFeed.js';

/** The router's policies for one operation (limits, validation, authorization, cost, budget): `OperationPolicy`. */
export type PrepareOperation = (input: PrepareInput) => Promise<Prepared>;

/** Applies what the policies decided (e.g. denials of filtered fields) to each event's result. */
export type FinishEvent = (outcome: PolicyOutcome, result: FormattedExecutionResult) => void;

/** A subscription request, as either transport carried it. */
export interface SubscriptionRequest {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
}

/** Refused before anything ran (errors as the graphql-ws `error` message or the SSE response), or running. */
export type StartedSubscription =
  | { kind: 'refuse'; status: number; errors: GraphQLFormattedError[]; headers: Record<string, string> }
  | {
      kind: 'run';
      subscription: FederatedSubscription;
      headers: Record<string, string>;
      /** The operation as validated (graphql-ws wants execution arguments even when the router executes). */
      document: DocumentNode;
      schema: GraphQLSchema;
    };

export interface SubscriptionEngineOptions {
  feed: SupergraphFeed;
  subgraphUrls: Record<string, string>;
  subgraphTimeoutMs: number;
  prepareOperation: PrepareOperation | undefined;
  finishEvent: FinishEvent | undefined;
  settings: SubscriptionSettings;
  logger: Logger;
  /**
   * Signs the router tokens of shared upstream subscriptions; with `settings.shareUpstreams` identical client
   * subscriptions share one (ADR 0021). Absent = every subscription subscribes on its client's own socket.
   */
  internalTokenSecret?: string;
}

/**
 * What both transports share: the policy hook, validation against the API schema, planning over the current
 * supergraph (rebuilt when it is reloaded; running subscriptions keep the one they started with), and the
 * federated execution of each subscription.
 */
export class SubscriptionEngine {
  #loaded: LoadedSupergraph | undefined;
  /** A supergraph that failed to build: not retried until the next one. */
  #failedSdl: string | undefined;
  readonly #stopFeed: () => void;
  /** Upstream subscriptions shared by identical client subscriptions; undefined = sharing off. */
  readonly sharing: SharedSubscriptions | undefined;

  constructor(private readonly options: SubscriptionEngineOptions) {
    this.sharing =
      options.internalTokenSecret !== undefined && options.settings.shareUpstreams
        ? new SharedSubscriptions({
            internalTokenSecret: options.internalTokenSecret,
            urlOf: (subgraph) => this.webSocketUrlOf(subgraph),
            settings: options.settings,
            logger: options.logger,
          })
        : undefined;
    // Building takes a few hundred ms of CPU: done now, before the router listens (the gateway loaded its
    // supergraph already), and after each reload on the next turn of the event loop, not in a subscriber's way.
    this.#stopFeed = options.feed.onSupergraphChange(() => setImmediate(() => this.#tryBuild()));
    if (options.feed.current()) this.#tryBuild();
  }

  /** The current supergraph, built on first use after each change (the last good one if the newest fails). */
  supergraph(): LoadedSupergraph {
    const sdl = this.options.feed.current();
    if (!sdl) throw new Error('no supergraph loaded yet');
    if (this.#loaded?.sdl === sdl || (this.#loaded && sdl === this.#failedSdl)) return this.#loaded;
    const { subgraphUrls, subgraphTimeoutMs, logger } = this.options;
    try {
      this.#loaded = new LoadedSupergraph(sdl, { subgraphUrls, subgraphTimeoutMs, logger });
    } catch (error) {
      this.#failedSdl = sdl;
      if (!this.#loaded) throw error;
      logger.error({ err: error }, 'cannot plan subscriptions over the new supergraph; keeping the last one');
    }
    return this.#loaded;
  }

  #tryBuild(): void {
    try {
      this.supergraph();
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot plan subscriptions over the supergraph');
    }
  }

  /** Applies the policies, validates and plans `request` for `session`; the subscription starts when iterated. */
  async start(request: SubscriptionRequest, session: SubscriberSession): Promise<StartedSubscription> {
    const { logger, settings } = this.options;
    let query = request.query;
    let outcome: PolicyOutcome | undefined;
    let headers: Record<string, string> = {};
    if (this.options.prepareOperation) {
      let prepared: Prepared;
      try {
        prepared = await this.options.prepareOperation({
          query,
          operationName: request.operationName,
          variables: request.variables,
          principal: session.principal,
          clientIp: session.clientIp,
          includeCost: false,
        });
      } catch (error) {
        logger.error({ err: error, requestId: session.requestId }, 'the policies failed on a subscription');
        return refuse(httpStatusOf(ErrorCode.INTERNAL_SERVER_ERROR), [INTERNAL_ERROR]);
      }
      if (prepared.kind === 'refuse') return prepared;
      ({ query, outcome, headers } = prepared);
    }

    let supergraph: LoadedSupergraph;
    try {
      supergraph = this.supergraph();
    } catch (error) {
      logger.error({ err: error }, 'no supergraph to plan a subscription with');
      return refuse(httpStatusOf(ErrorCode.SUBGRAPH_UNAVAILABLE), [
        codedError(ErrorCode.SUBGRAPH_UNAVAILABLE, 'Subscriptions are not available yet.').toJSON(),
      ]);
    }
    const analysis = supergraph.analyze(query, request.operationName);
    if ('errors' in analysis) return refuse(400, analysis.errors);
    if (analysis.operation.operation !== 'subscription') {
      return refuse(httpStatusOf(ErrorCode.BAD_USER_INPUT), [
        codedError(
          ErrorCode.BAD_USER_INPUT,
          `This endpoint runs subscriptions; send ${analysis.operation.operation} operations to POST /graphql.`,
          {
            expected: 'subscription',
            received: analysis.operation.operation,
          },
        ).toJSON(),
      ]);
    }
    const variableErrors = supergraph.variableErrors(analysis.operation, request.variables);
    if (variableErrors.length > 0) return refuse(httpStatusOf(ErrorCode.BAD_USER_INPUT), variableErrors);

    let plan: ReturnType<LoadedSupergraph['plan']>;
    try {
      plan = supergraph.plan(query, analysis.document, analysis.operation, request.variables);
    } catch (error) {
      logger.error({ err: error, requestId: session.requestId }, 'cannot plan a subscription');
      return refuse(httpStatusOf(ErrorCode.INTERNAL_SERVER_ERROR), [INTERNAL_ERROR]);
    }
    const serviceName = plan.planned.primary.serviceName;
    if (!this.webSocketUrlOf(serviceName)) {
      logger.error({ subgraph: serviceName }, 'the supergraph names a subgraph without a URL');
      return refuse(httpStatusOf(ErrorCode.INTERNAL_SERVER_ERROR), [INTERNAL_ERROR]);
    }
    const finishEvent = this.options.finishEvent;
    const resolution = {
      supergraph,
      planned: plan.planned,
      variables: plan.variables,
      finish:
        outcome && finishEvent
          ? (result: FormattedExecutionResult) => finishEvent(outcome, result)
          : undefined,
      logger: logger.child({ requestId: session.requestId, subgraph: serviceName }),
    };
    const share = this.sharing && {
      registry: this.sharing,
      key: this.sharing.keyOf(plan.planned, plan.variables, session.principal),
      spec: {
        ...resolution,
        logger: logger.child({ subgraph: serviceName, shared: true }),
        principal: session.principal,
        clientIp: session.clientIp,
        joinableWhileRunning: startsFromNow(supergraph, plan.planned, plan.variables),
      },
    };
    const subscription = new FederatedSubscription({
      ...resolution,
      context: () => session.context(),
      upstream: () => session.upstreams.get(serviceName)!,
      share,
      settings,
    });
    return {
      kind: 'run',
      subscription,
      headers,
      document: analysis.document,
      schema: supergraph.validationSchema,
    };
  }

  /** The graphql-ws URL of a subgraph in the current supergraph. */
  webSocketUrlOf(subgraph: string): string | undefined {
    const url = this.#loaded?.subgraphUrls.get(subgraph);
    return url?.replace(/^http/, 'ws');
  }

  close(): void {
    this.#stopFeed();
  }
}

/**
 * Whether a subscription starts "from now" whenever it is made: a resumable field given no cursor whose resume
 * argument has no default (`messagePosted` without `after`). A client may then join a group that already
 * received events: a subscription of its own, made now, would start at the same point. Anything else (a cursor,
 * a default such as `taskLogs`' `afterSeq: 0`, or a field that starts with the current state) replays or
 * snapshots at subscribe time, so it joins only a group that has not received anything yet.
 */
function startsFromNow(
  supergraph: LoadedSupergraph,
  planned: PlannedSubscription,
  variables: Record<string, unknown>,
): boolean {
  if (!planned.resume || (variables[RESUME_VARIABLE] ?? null) !== null) return false;
  const argument = supergraph.resumableFields.get(planned.resume.field)?.argument;
  const field = supergraph.validationSchema.getSubscriptionType()?.getFields()[planned.resume.field];
  const definition = field?.args.find((candidate) => candidate.name === argument);
  return definition !== undefined && (definition.defaultValue ?? null) === null;
}

function refuse(status: number, errors: GraphQLFormattedError[]): StartedSubscription {
  return { kind: 'refuse', status, errors, headers: {} };
}
