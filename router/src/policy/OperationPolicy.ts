import { codedError, ErrorCode, httpStatusOf, roleAtLeast, type Principal } from '@cap/runtime';
import {
  getOperationAST,
  getVariableValues,
  print,
  type DocumentNode,
  type GraphQLError,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import {
  applyDenialsToData,
  authorizeOperation,
  unreadableConditions,
  type AuthorizationResult,
} from './authorize.js';
import { actualCost, estimateCost } from './cost.js';
import { analyzeOperation, type Analysis } from './analyzeOperation.js';
import type { PolicySettings } from './PolicySettings.js';
import { RateLimiterUnavailableError, type RateDecision, type RateLimiter } from './rateLimiter.js';
export type { PolicySettings } from './PolicySettings.js';
import { denialError, hideSuggestion, rateHeaders } from './denialError.js';
import { rightsKey } from '../speed/keys.js';
import { Lru } from '../speed/Lru.js';
import { budgetFor } from './budgetFor.js';
import { checkSlicingArguments } from './slicingArguments.js';
import type { SupergraphPolicy } from './supergraphPolicy.js';

/** The outcome of preparing one request: refuse it, or run it (possibly rewritten) and finish the response. */
export type Prepared =
  | { kind: 'refuse'; status: number; errors: GraphQLFormattedError[]; headers: Record<string, string> }
  | { kind: 'run'; query: string; outcome: PolicyOutcome; headers: Record<string, string> };

/** What the response needs from the policies (errors to add, fields to null, cost to report). */
export interface PolicyOutcome {
  authorization: AuthorizationResult | null;
  analysis: Analysis | null;
  /** The operation's coerced variables (defaults applied), for the actual cost. */
  variables: Record<string, unknown>;
  estimatedCost: number;
  rate: RateDecision | null;
  includeCost: boolean;
}

/** What the policies before the budget decided. */
type Decision =
  | { kind: 'refuse'; prepared: Extract<Prepared, { kind: 'refuse' }> }
  | {
      kind: 'run';
      analysis: Analysis;
      authorization: AuthorizationResult;
      document: DocumentNode;
      operation: OperationDefinitionNode;
      /** The coerced variables. */
      variables: Record<string, unknown>;
      estimated: number;
    };

/** One operation as the policies read it, from HTTP or a subscription's start. */
export interface PrepareInput {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  principal: Principal;
  /** Budget key for anonymous callers. */
  clientIp: string;
  /** Whether the response reports `extensions.cost` (`X-Include-Cost: true`). */
  includeCost: boolean;
}

/** What the policies before the budget read of a request. */
type DecideInput = Pick<PrepareInput, 'query' | 'operationName' | 'variables' | 'principal'>;

/** A policy's refusal, ending the list. */
interface Refused {
  refused: Extract<Decision, { kind: 'refuse' }>;
}

/** Removes "Did you mean …?" suggestions where `HIDE_SUGGESTIONS` says so. */
type Hide = (errors: readonly GraphQLFormattedError[]) => GraphQLFormattedError[];

function refused(status: number, errors: GraphQLFormattedError[]): Refused {
  return { refused: { kind: 'refuse', prepared: { kind: 'refuse', status, errors, headers: {} } } };
}

function refusedWith(status: number, error: GraphQLError): Refused {
  return refused(status, [error.toJSON()]);
}

const CACHE_SIZE = 1_000;

/**
 * The router's policies, in order: operation limits, validation, introspection, field-level authorization,
 * cost, then the caller's budget. The list is `#decide` (every step but the budget, one method each) followed by
 * the charge in `prepare`. One instance per supergraph (reloaded with it).
 */
export class OperationPolicy {
  readonly #cache = new Lru<Analysis | GraphQLFormattedError[]>(CACHE_SIZE);
  /** Decisions on operations without variables, by document and the caller's rights (docs/adr/0022). */
  readonly #decisions: Lru<Decision>;

  constructor(
    readonly supergraph: SupergraphPolicy,
    private readonly settings: PolicySettings,
    private readonly limiter: RateLimiter,
  ) {
    this.#decisions = new Lru(settings.decisionCacheSize);
  }

  #analyze(query: string, operationName: string | undefined): Analysis | GraphQLFormattedError[] {
    const key = `${operationName ?? ''}\u0000${query}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const analysis = analyzeOperation(this.supergraph, this.settings.limits, query, operationName);
    this.#cache.set(key, analysis);
    return analysis;
  }

  /**
   * Applies every policy to one request. Every answer given after the budget lookup carries the budget's
   * `X-RateLimit-*` headers: a run is charged its estimated cost (at least 1); a refusal by the policies is
   * charged the minimum of 1 unit (analysing it was work, and a caller out of budget gets 429 instead).
   */
  async prepare(input: PrepareInput): Promise<Prepared> {
    if (!this.settings.enabled) {
      return {
        kind: 'run',
        query: input.query,
        headers: {},
        outcome: {
          authorization: null,
          analysis: null,
          variables: input.variables,
          estimatedCost: 0,
          rate: null,
          includeCost: false,
        },
      };
    }
    const decided = this.#decideCached(input);
    const cost = decided.kind === 'run' ? Math.max(1, decided.estimated) : 1;
    const { key, budget } = budgetFor(this.settings.budgets, input.principal, input.clientIp);
    let rate: RateDecision;
    try {
      rate = await this.limiter.charge(key, budget, cost);
    } catch (error) {
      if (!(error instanceof RateLimiterUnavailableError)) throw error;
      // Refused anyway: say why rather than that the limiter is down.
      if (decided.kind === 'refuse') return decided.prepared;
      return {
        ...refuse(
          httpStatusOf(ErrorCode.RATE_LIMITER_UNAVAILABLE),
          codedError(ErrorCode.RATE_LIMITER_UNAVAILABLE, error.message),
        ),
        headers: { 'retry-after': '5' },
      };
    }
    const headers = rateHeaders(rate);
    if (!rate.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(rate.resetMs / 1000));
      return {
        kind: 'refuse',
        status: httpStatusOf(ErrorCode.RATE_LIMITED),
        errors: [
          codedError(ErrorCode.RATE_LIMITED, 'Rate limit exceeded for this caller.', {
            retryAfterSeconds,
            cost: { requested: cost, remaining: rate.remaining, limit: rate.limit },
          }).toJSON(),
        ],
        headers: { ...headers, 'retry-after': String(retryAfterSeconds) },
      };
    }
    if (decided.kind === 'refuse')
      return { ...decided.prepared, headers: { ...decided.prepared.headers, ...headers } };
    const { analysis, authorization, document, operation, variables, estimated } = decided;
    return {
      kind: 'run',
      query: authorization.document ? print(authorization.document) : input.query,
      headers,
      outcome: {
        authorization: authorization.denials.length > 0 ? authorization : null,
        analysis: { ...analysis, document, operation },
        variables,
        estimatedCost: estimated,
        rate,
        includeCost: input.includeCost,
      },
    };
  }

  /**
   * `#decide`, cached for operations declaring no variables (every request's variables coerce to `{}`): their
   * decision depends only on the text and the caller's rights. The budget and authentication still run per request.
   */
  #decideCached(input: DecideInput): Decision {
    const analysis =
      this.settings.decisionCacheSize > 0 ? this.#analyze(input.query, input.operationName) : undefined;
    if (!analysis || Array.isArray(analysis) || (analysis.operation.variableDefinitions?.length ?? 0) > 0)
      return this.#decide(input);
    const key = `${rightsKey(input.principal)}\u0000${input.operationName ?? ''}\u0000${input.query}`;
    const cached = this.#decisions.get(key);
    if (cached) return cached;
    const decided = this.#decide(input);
    this.#decisions.set(key, decided);
    return decided;
  }

  /**
   * Every policy but the budget, in the order they run (README "Router policy"); the first refusal ends it. The
   * budget is charged after them, in `prepare`, whatever they decided.
   */
  #decide(input: DecideInput): Decision {
    const isAdmin = input.principal.kind !== 'anonymous' && roleAtLeast(input.principal.role, 'ADMIN');
    const hide = (errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] =>
      this.settings.hideSuggestions && !isAdmin ? errors.map(hideSuggestion) : [...errors];

    const analysis = this.#limitsAndValidation(input, hide);
    if ('refused' in analysis) return analysis.refused;
    const introspection = this.#introspection(analysis, isAdmin);
    if (introspection) return introspection.refused;
    const variables = this.#variables(analysis, input, hide);
    if ('refused' in variables) return variables.refused;
    const authorized = this.#authorization(analysis, variables.coerced, input);
    if ('refused' in authorized) return authorized.refused;
    const cost = this.#cost(authorized.document, authorized.operation, variables.coerced);
    if ('refused' in cost) return cost.refused;
    return {
      kind: 'run',
      analysis,
      authorization: authorized.authorization,
      document: authorized.document,
      operation: authorized.operation,
      variables: variables.coerced,
      estimated: cost.estimated,
    };
  }

  /** 1–2. Operation limits on the parsed document, then validation against the API schema (cached per text). */
  #limitsAndValidation(input: DecideInput, hide: Hide): Analysis | Refused {
    const analysis = this.#analyze(input.query, input.operationName);
    // Limit and GraphQL validation errors alike: the request itself is malformed (HTTP 400).
    return Array.isArray(analysis) ? refused(400, hide(analysis)) : analysis;
  }

  /** 3. Introspection, for the callers `INTROSPECTION` allows it. */
  #introspection(analysis: Analysis, isAdmin: boolean): Refused | null {
    const allowed =
      this.settings.introspection === 'enabled' || (this.settings.introspection === 'admin' && isAdmin);
    if (!analysis.introspection || allowed) return null;
    return refusedWith(
      httpStatusOf(ErrorCode.INTROSPECTION_DISABLED),
      codedError(ErrorCode.INTROSPECTION_DISABLED, 'Introspection is disabled.'),
    );
  }

  /**
   * The variables as execution will see them (types checked, defaults applied): every later policy decides on
   * these. Also refuses `@skip`/`@include` conditions execution could not read and missing slicing arguments.
   */
  #variables(
    analysis: Analysis,
    input: DecideInput,
    hide: Hide,
  ): { coerced: Record<string, unknown> } | Refused {
    const coerced = getVariableValues(
      this.supergraph.apiSchema,
      analysis.operation.variableDefinitions ?? [],
      input.variables,
    );
    if (coerced.errors) {
      // As Apollo Server answers a variable coercion error: HTTP 400, BAD_USER_INPUT.
      const errors = coerced.errors.map((error) => ({
        ...error.toJSON(),
        extensions: { ...error.extensions, code: ErrorCode.BAD_USER_INPUT },
      }));
      return refused(httpStatusOf(ErrorCode.BAD_USER_INPUT), hide(errors));
    }
    const variables = coerced.coerced;
    const unreadable = unreadableConditions(analysis.document, analysis.operation, variables);
    if (unreadable.length > 0) {
      const errors = unreadable.map((error) => ({
        ...error.toJSON(),
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      }));
      return refused(httpStatusOf(ErrorCode.BAD_USER_INPUT), errors);
    }
    const slicing = checkSlicingArguments({
      policy: this.supergraph,
      document: analysis.document,
      operation: analysis.operation,
      variables,
    });
    if (slicing.length > 0)
      return refused(
        httpStatusOf(ErrorCode.SLICING_ARGUMENT_REQUIRED),
        slicing.map((error) => error.toJSON()),
      );
    return { coerced: variables };
  }

  /** 4. Field-level authorization: the operation without the denied fields, or a refusal (`reject` mode). */
  #authorization(
    analysis: Analysis,
    variables: Record<string, unknown>,
    input: DecideInput,
  ):
    | { authorization: AuthorizationResult; document: DocumentNode; operation: OperationDefinitionNode }
    | Refused {
    const authorization = authorizeOperation({
      policy: this.supergraph,
      document: analysis.document,
      operation: analysis.operation,
      variables,
      principal: input.principal,
    });
    // A subscription whose root field is denied has nothing left to subscribe to: refused at start, in any mode.
    const rootDenied = analysis.operation.operation === 'subscription' && authorization.empty;
    if (authorization.denials.length > 0 && (this.settings.authorizationMode === 'reject' || rootDenied))
      return refused(httpStatusOf(ErrorCode.FORBIDDEN), authorization.denials.map(denialError));
    const document = authorization.document ?? analysis.document;
    const operation = authorization.document
      ? (getOperationAST(document, input.operationName) ?? analysis.operation)
      : analysis.operation;
    return { authorization, document, operation };
  }

  /** 5. The estimated cost of what is left to run, refused above `MAX_COST` when `COST_MODE=enforce`. */
  #cost(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): { estimated: number } | Refused {
    const estimated = estimateCost({
      policy: this.supergraph,
      document,
      operation,
      variables,
      settings: this.settings.cost,
    });
    if (estimated > this.settings.maxCost && this.settings.costMode === 'enforce') {
      return refusedWith(
        httpStatusOf(ErrorCode.COST_LIMIT_EXCEEDED),
        codedError(
          ErrorCode.COST_LIMIT_EXCEEDED,
          `The operation's estimated cost ${estimated} exceeds the maximum ${this.settings.maxCost}.`,
          { cost: { estimated, max: this.settings.maxCost } },
        ),
      );
    }
    return { estimated };
  }

  /** Adds denials, nulls and the cost report to an executed result. */
  finish(
    outcome: PolicyOutcome,
    result: {
      data?: Record<string, unknown> | null;
      errors?: readonly GraphQLFormattedError[];
      extensions?: Record<string, unknown>;
    },
  ): void {
    if (outcome.authorization) {
      result.data = applyDenialsToData(result.data, outcome.authorization);
      result.errors = [...(result.errors ?? []), ...outcome.authorization.denials.map(denialError)];
    }
    if (outcome.includeCost && outcome.analysis) {
      const actual = actualCost({
        policy: this.supergraph,
        document: outcome.analysis.document,
        operation: outcome.analysis.operation,
        variables: outcome.variables,
        data: result.data,
        settings: this.settings.cost,
      });
      result.extensions = {
        ...result.extensions,
        cost: {
          estimated: outcome.estimatedCost,
          actual,
          max: this.settings.maxCost,
          remaining: outcome.rate?.remaining ?? null,
        },
      };
    }
  }
}

function refuse(status: number, error: GraphQLError): Extract<Prepared, { kind: 'refuse' }> {
  return { kind: 'refuse', status, errors: [error.toJSON()], headers: {} };
}
