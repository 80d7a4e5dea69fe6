import { codedError, ErrorCode, roleAtLeast, type Principal } from '@cap/runtime';
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
import { actualCost, estimateCost, type CostSettings } from './cost.js';
import { analyzeOperation, type Analysis } from './analyzeOperation.js';
import type { OperationLimits } from './limits.js';
import {
  RateLimiterUnavailableError,
  type Budget,
  type RateDecision,
  type RateLimiter,
} from './rateLimiter.js';
import { checkSlicingArguments } from './slicingArguments.js';
import type { SupergraphPolicy } from './supergraphPolicy.js';

/** How the router applies its policies; every field documented in README ("Router policy"). */
export interface PolicySettings {
  /** Master switch: off = authentication only (used by the overhead benchmark). */
  enabled: boolean;
  /** `filter`: drop unauthorized fields and run the rest; `reject`: refuse the whole operation. */
  authorizationMode: 'filter' | 'reject';
  /** `enforce`: refuse operations above `maxCost`; `measure`: log them and run them. */
  costMode: 'enforce' | 'measure';
  maxCost: number;
  cost: CostSettings;
  limits: OperationLimits;
  /** `enabled` everywhere, `admin` = only ADMIN callers (production default), `disabled`. */
  introspection: 'enabled' | 'admin' | 'disabled';
  /** Hide "Did you mean …?" suggestions from non-admins (production default). */
  hideSuggestions: boolean;
  budgets: {
    user: Budget;
    anonymous: Budget;
    tiers: Record<'FREE' | 'PRO' | 'ENTERPRISE', Budget>;
  };
}

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

const CACHE_SIZE = 1_000;

/**
 * The router's policies, in order: operation limits, validation, introspection, field-level authorization,
 * cost, then the caller's budget. One instance per supergraph (reloaded with it).
 */
export class OperationPolicy {
  readonly #cache = new Map<string, Analysis | GraphQLFormattedError[]>();

  constructor(
    readonly supergraph: SupergraphPolicy,
    private readonly settings: PolicySettings,
    private readonly limiter: RateLimiter,
  ) {}

  #analyze(query: string, operationName: string | undefined): Analysis | GraphQLFormattedError[] {
    const key = `${operationName ?? ''}\u0000${query}`;
    const cached = this.#cache.get(key);
    if (cached) {
      // Refresh recency: the Map's insertion order is the LRU order.
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached;
    }
    const analysis = analyzeOperation(this.supergraph, this.settings.limits, query, operationName);
    this.#cache.set(key, analysis);
    if (this.#cache.size > CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    return analysis;
  }

  /**
   * Applies every policy to one request. Every answer given after the budget lookup carries the budget's
   * `X-RateLimit-*` headers: a run is charged its estimated cost (at least 1); a refusal by the policies is
   * charged the minimum of 1 unit (analysing it was work, and a caller out of budget gets 429 instead).
   */
  async prepare(input: {
    query: string;
    operationName: string | undefined;
    variables: Record<string, unknown>;
    principal: Principal;
    /** Budget key for anonymous callers. */
    clientIp: string;
    includeCost: boolean;
  }): Promise<Prepared> {
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
    const decided = this.#decide(input);
    const cost = decided.kind === 'run' ? Math.max(1, decided.estimated) : 1;
    const { key, budget } = this.#budgetFor(input.principal, input.clientIp);
    let rate: RateDecision;
    try {
      rate = await this.limiter.charge(key, budget, cost);
    } catch (error) {
      if (!(error instanceof RateLimiterUnavailableError)) throw error;
      // Refused anyway: say why rather than that the limiter is down.
      if (decided.kind === 'refuse') return decided.prepared;
      return {
        ...refuse(503, codedError(ErrorCode.RATE_LIMITER_UNAVAILABLE, error.message)),
        headers: { 'retry-after': '5' },
      };
    }
    const headers = rateHeaders(rate);
    if (!rate.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(rate.resetMs / 1000));
      return {
        kind: 'refuse',
        status: 429,
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

  /** Every policy but the budget: a refusal, or what to run and its estimated cost. */
  #decide(input: {
    query: string;
    operationName: string | undefined;
    variables: Record<string, unknown>;
    principal: Principal;
  }): Decision {
    const { principal } = input;
    const isAdmin = principal.kind !== 'anonymous' && roleAtLeast(principal.role, 'ADMIN');
    const hide = (errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] =>
      this.settings.hideSuggestions && !isAdmin ? errors.map(hideSuggestion) : [...errors];
    const analysis = this.#analyze(input.query, input.operationName);
    if (Array.isArray(analysis))
      return {
        kind: 'refuse',
        prepared: { kind: 'refuse', status: 400, errors: hide(analysis), headers: {} },
      };
    if (
      analysis.introspection &&
      !(this.settings.introspection === 'enabled' || (this.settings.introspection === 'admin' && isAdmin))
    ) {
      return {
        kind: 'refuse',
        prepared: refuse(200, codedError(ErrorCode.INTROSPECTION_DISABLED, 'Introspection is disabled.')),
      };
    }

    // The variables as execution will see them (types checked, defaults applied): every policy decides on these.
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
      return { kind: 'refuse', prepared: { kind: 'refuse', status: 400, errors: hide(errors), headers: {} } };
    }
    const variables = coerced.coerced;
    const unreadable = unreadableConditions(analysis.document, analysis.operation, variables);
    if (unreadable.length > 0) {
      const errors = unreadable.map((error) => ({
        ...error.toJSON(),
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      }));
      return { kind: 'refuse', prepared: { kind: 'refuse', status: 400, errors, headers: {} } };
    }
    const slicing = checkSlicingArguments({
      policy: this.supergraph,
      document: analysis.document,
      operation: analysis.operation,
      variables,
    });
    if (slicing.length > 0)
      return {
        kind: 'refuse',
        prepared: {
          kind: 'refuse',
          status: 400,
          errors: slicing.map((error) => error.toJSON()),
          headers: {},
        },
      };

    const authorization = authorizeOperation({
      policy: this.supergraph,
      document: analysis.document,
      operation: analysis.operation,
      variables,
      principal,
    });
    // A subscription whose root field is denied has nothing left to subscribe to: refused at start, in any mode.
    const rootDenied = analysis.operation.operation === 'subscription' && authorization.empty;
    if (authorization.denials.length > 0 && (this.settings.authorizationMode === 'reject' || rootDenied)) {
      return {
        kind: 'refuse',
        prepared: {
          kind: 'refuse',
          status: 200,
          errors: authorization.denials.map(denialError),
          headers: {},
        },
      };
    }
    const document = authorization.document ?? analysis.document;
    const operation = authorization.document
      ? (getOperationAST(document, input.operationName) ?? analysis.operation)
      : analysis.operation;

    const estimated = estimateCost({
      policy: this.supergraph,
      document,
      operation,
      variables,
      settings: this.settings.cost,
    });
    if (estimated > this.settings.maxCost && this.settings.costMode === 'enforce') {
      return {
        kind: 'refuse',
        prepared: refuse(
          200,
          codedError(
            ErrorCode.COST_LIMIT_EXCEEDED,
            `The operation's estimated cost ${estimated} exceeds the maximum ${this.settings.maxCost}.`,
            { cost: { estimated, max: this.settings.maxCost } },
          ),
        ),
      };
    }
    return { kind: 'run', analysis, authorization, document, operation, variables, estimated };
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

  #budgetFor(principal: Principal, clientIp: string): { key: string; budget: Budget } {
    const { budgets } = this.settings;
    if (principal.kind === 'apiKey')
      return { key: `key:${principal.apiKeyId}`, budget: budgets.tiers[principal.tier] };
    if (principal.kind === 'user') return { key: `user:${principal.userId}`, budget: budgets.user };
    return { key: `ip:${clientIp}`, budget: budgets.anonymous };
  }
}

function refuse(status: number, error: GraphQLError): Extract<Prepared, { kind: 'refuse' }> {
  return { kind: 'refuse', status, errors: [error.toJSON()], headers: {} };
}

function denialError(denial: AuthorizationResult['denials'][number]): GraphQLFormattedError {
  return {
    message:
      denial.code === ErrorCode.UNAUTHENTICATED
        ? 'Authentication required for this field.'
        : 'Not allowed to read or write this field.',
    path: denial.path,
    extensions: { code: denial.code, requirement: denial.requirement },
  };
}

function hideSuggestion(error: GraphQLFormattedError): GraphQLFormattedError {
  return { ...error, message: error.message.replace(/ ?Did you mean .*\?$/, '') };
}

export function rateHeaders(rate: RateDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-reset': String(Math.max(0, Math.ceil(rate.resetMs / 1000))),
  };
}
