import {
  operationFromDocument,
  printSchema as printFederationSchema,
  Supergraph,
  type Schema,
} from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import { QueryPlanner, type FetchNode, type QueryPlan } from '@apollo/query-planner';
import { ErrorCode, type Logger } from '@cap/runtime';
import {
  buildSchema,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { RouterDataSource } from '../../RouterDataSource.js';
import type { RouterContext } from '../../routerContext.js';
import { EntityBatcher } from './EntityBatcher.js';
import { compileProjection, project, type Projection } from './projection.js';
import { resumableFieldsOf, type ResumableField } from '../../policy/supergraphPolicy.js';
import { withResumption, type ResumePoint } from './resumableFields.js';

/** Lexical tokens one subscription document may hold when no policy hook limits it (the HTTP path's policy does). */
const MAX_TOKENS = 5_000;
/** Parsed-and-validated documents and plans kept per supergraph (least recently used dropped first). */
const CACHE_SIZE = 500;

type ExecuteArgs = Parameters<typeof executeQueryPlan>;
type GatewayRequestContext = ExecuteArgs[2];
type OperationContext = ExecuteArgs[3];
type DataSourceResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** A subscription as planned over one supergraph: what to subscribe to upstream and how to finish each event. */
export interface PlannedSubscription {
  /** The primary fetch: the subscription the owning subgraph serves over graphql-ws. */
  primary: FetchNode;
  /**
   * Run once per event: the primary fetch (answered with the event itself) followed by the plan's `rest`, so
   * entity fields owned by other subgraphs are fetched like any query's, and the result is shaped by the gateway's
   * own post-processing (aliases, `__typename`, fields added for keys and cursors removed).
   */
  eventPlan: QueryPlan;
  /** True when events need other subgraphs (the plan has a `rest`). */
  federated: boolean;
  /**
   * For a plan without `rest` whose selections are plain fields: the keys the client asked for, so each event
   * is shaped by a projection instead of running the event plan (the common case; ~20x cheaper per event).
   */
  shape: Projection | undefined;
  /** The client's operation (as the policies returned it): the shape of every result. */
  operationContext: OperationContext;
  /** Where the router resumes from after a drop; null = subscribe again as is. */
  resume: ResumePoint | null;
}

/** A request's document after parsing and validation against the API schema, or the errors to refuse it with. */
export type Analysis =
  | { document: DocumentNode; operation: OperationDefinitionNode }
  | { errors: GraphQLFormattedError[] };

/** One served supergraph, ready for planning subscriptions and executing their events. */
export class LoadedSupergraph {
  readonly supergraph: Supergraph;
  readonly apiSchema: Schema;
  /** The API schema for the gateway's functions (built by federation-internals, with its copy of graphql). */
  readonly apiGraphQLSchema: GraphQLSchema;
  /**
   * The same API schema built with this module's copy of graphql, for validation and variable coercion: where
   * graphql is loaded twice (ESM and CommonJS, as test runners do), graphql-js refuses a schema of the other copy.
   */
  readonly validationSchema: GraphQLSchema;
  readonly supergraphGraphQLSchema: GraphQLSchema;
  /** The `@resumable` subscription fields the subgraphs declare. */
  readonly resumableFields: ReadonlyMap<string, ResumableField>;
  readonly planner: QueryPlanner;
  /** HTTP URL of each subgraph (overrides applied). */
  readonly subgraphUrls: ReadonlyMap<string, string>;
  readonly #dataSources: Record<string, GraphQLDataSource>;
  readonly #analyses = new Map<string, Analysis>();
  readonly #plans = new Map<string, PlannedSubscription>();

  constructor(
    readonly sdl: string,
    options: { subgraphUrls: Record<string, string>; subgraphTimeoutMs: number; logger: Logger },
  ) {
    // The gateway validated this very SDL before serving it.
    this.supergraph = Supergraph.build(sdl, { validateSupergraph: false });
    this.apiSchema = this.supergraph.apiSchema();
    this.apiGraphQLSchema = this.apiSchema.toGraphQLJSSchema();
    this.validationSchema = buildSchema(printFederationSchema(this.apiSchema));
    this.supergraphGraphQLSchema = this.supergraph.schema.toGraphQLJSSchema();
    this.resumableFields = resumableFieldsOf(parse(sdl));
    this.planner = new QueryPlanner(this.supergraph);
    const urls = new Map<string, string>();
    const dataSources: Record<string, GraphQLDataSource> = Object.create(null) as Record<
      string,
      GraphQLDataSource
    >;
    for (const subgraph of this.supergraph.subgraphs().values()) {
      const url = options.subgraphUrls[subgraph.name] ?? subgraph.url;
      urls.set(subgraph.name, url);
      // The same data source as the gateway's (router token, request id, timeout, errors that name no URL), with
      // the entity fetches of concurrent events batched.
      const http = new RouterDataSource(subgraph.name, url, options.subgraphTimeoutMs, options.logger);
      dataSources[subgraph.name] = new EntityBatcher(http);
    }
    this.subgraphUrls = urls;
    this.#dataSources = dataSources;
  }

  /** Parses and validates an operation against the API schema (cached by its text). */
  analyze(query: string, operationName: string | undefined): Analysis {
    const key = `${operationName ?? ''}\u0000${query}`;
    const cached = remember(this.#analyses, key);
    if (cached) return cached;
    let analysis: Analysis;
    try {
      const document = parse(query, { maxTokens: MAX_TOKENS });
      const errors = validate(this.validationSchema, document);
      const operation = errors.length === 0 ? getOperationAST(document, operationName) : null;
      if (errors.length > 0) {
        analysis = {
          errors: errors.map((error) => ({
            ...error.toJSON(),
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          })),
        };
      } else if (!operation) {
        const message = operationName
          ? `Unknown operation named "${operationName}".`
          : 'Must provide an operation name when the document holds several.';
        analysis = { errors: [{ message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }] };
      } else {
        analysis = { document, operation };
      }
    } catch (error) {
      const message = error instanceof GraphQLError ? error.message : 'Syntax error.';
      analysis = { errors: [{ message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] };
    }
    store(this.#analyses, key, analysis);
    return analysis;
  }

  /** The variables' errors against the operation's definitions (none = acceptable). */
  variableErrors(
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): GraphQLFormattedError[] {
    const coerced = getVariableValues(this.validationSchema, operation.variableDefinitions ?? [], variables, {
      maxErrors: 10,
    });
    return (coerced.errors ?? []).map((error) => ({
      message: error.message,
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    }));
  }

  /**
   * Plans a subscription (cached by the document's text): the primary fetch and, per event, the rest. Returns the
   * variables to start with (the client's, plus the resume argument's initial value).
   */
  plan(
    query: string,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): { planned: PlannedSubscription; variables: Record<string, unknown> } {
    const resumable = withResumption(
      document,
      operation,
      this.validationSchema,
      variables,
      this.resumableFields,
    );
    const key = `${operation.name?.value ?? ''}\u0000${query}`;
    let planned = remember(this.#plans, key);
    if (!planned) {
      const plannedDocument = resumable?.document ?? document;
      const plan = this.planner.buildQueryPlan(
        operationFromDocument(this.apiSchema, plannedDocument, { operationName: operation.name?.value }),
      );
      if (plan.node?.kind !== 'Subscription')
        throw new Error(`expected a subscription plan, got ${plan.node?.kind ?? 'an empty plan'}`);
      const { primary, rest } = plan.node;
      const local = rest === undefined && (primary.outputRewrites?.length ?? 0) === 0;
      planned = {
        primary,
        eventPlan: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary },
        federated: rest !== undefined,
        shape: (local && compileProjection(operation.selectionSet)) || undefined,
        operationContext: buildOperationContext({
          schema: this.apiGraphQLSchema,
          operationDocument: document,
          operationName: operation.name?.value,
        }),
        resume: resumable?.resume ?? null,
      };
      store(this.#plans, key, planned);
    }
    return { planned, variables: resumable?.variables ?? variables };
  }

  /**
   * Completes one event: runs the event plan with the primary fetch answered by `event` and every other fetch
   * sent over HTTP like a query's, and returns the result in the client's shape (errors formatted, not masked).
   */
  async executeEvent(
    planned: PlannedSubscription,
    event: DataSourceResponse,
    variables: Record<string, unknown>,
    /** Asked for only when the event needs other subgraphs (it may sign a router token). */
    context: () => RouterContext,
    logger: Logger,
  ): Promise<{ data: Record<string, unknown> | null; errors: GraphQLFormattedError[] }> {
    const serviceName = planned.primary.serviceName;
    if (planned.shape) {
      // Nothing to fetch: keep the client's keys of the subgraph's result (drops the resume cursor).
      const data = event.data ? (project(event.data, planned.shape) as Record<string, unknown>) : null;
      const errors = (event.errors ?? []).map((error) => ({
        ...error,
        extensions: { ...error.extensions, serviceName },
      }));
      return { data, errors };
    }
    const serviceMap: Record<string, GraphQLDataSource> = { ...this.#dataSources };
    const fallback = this.#dataSources[serviceName];
    let answered = false;
    serviceMap[serviceName] = {
      // The first fetch of the event plan is the primary: it is answered with the event. Any later fetch to the
      // same subgraph (a `rest` that comes back to it) goes over HTTP like any other.
      process: async (options) => {
        if (!answered && options.request.query === planned.primary.operation) {
          answered = true;
          return event;
        }
        if (!fallback) throw new Error(`no data source for subgraph ${serviceName}`);
        return fallback.process(options);
      },
    };
    const requestContext = {
      request: { variables, operationName: planned.operationContext.operation.name?.value },
      context: context(),
      logger,
      metrics: {},
    } as unknown as GatewayRequestContext;
    const result = await executeQueryPlan(
      planned.eventPlan,
      serviceMap,
      requestContext,
      planned.operationContext,
      this.supergraphGraphQLSchema,
      this.apiSchema,
    );
    return {
      data: (result.data as Record<string, unknown> | null | undefined) ?? null,
      errors: (result.errors ?? []).map((error) => error.toJSON()),
    };
  }
}

function remember<T>(cache: Map<string, T>, key: string): T | undefined {
  const value = cache.get(key);
  if (value !== undefined) {
    // Map insertion order is the LRU order.
    cache.delete(key);
    cache.set(key, value);
  }
  return value;
}

function store<T>(cache: Map<string, T>, key: string, value: T): void {
  cache.set(key, value);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
}
