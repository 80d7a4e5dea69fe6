import { codedError, ErrorCode, type Logger } from '@cap/runtime';
import type { GraphQLFormattedError } from 'graphql';
import { maskError } from '../../maskError.js';
import { UPSTREAM_RETRYABLE_CLOSE_CODES } from '../transport/closeCodes.js';
import type { SubscriptionSettings } from '../settings.js';
import type { PlannedSubscription } from './LoadedSupergraph.js';
import { cursorOf, RESUME_VARIABLE } from './resumableFields.js';
import { SubscriptionFailure } from './SubscriptionFailure.js';
import type { Upstream } from './UpstreamPool.js';

/** One event as a subgraph sent it. */
export interface UpstreamEvent {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

/** Where an {@link UpstreamFeed} reports. */
export interface UpstreamFeedSink {
  /** An event, in the subgraph's order (the feed's cursor already points at it). */
  event(event: UpstreamEvent): void;
  /** The subscription cannot go on (refused, or the subgraph stayed unavailable); the feed has stopped. */
  fail(failure: SubscriptionFailure): void;
  /** The subgraph completed the subscription; the feed has stopped. */
  end(): void;
}

export interface UpstreamFeedOptions {
  planned: PlannedSubscription;
  /** The operation's variables, including the resume argument's initial value. */
  variables: Record<string, unknown>;
  upstream: Upstream;
  /** Resume point to start from (a subscription taking over from another feed); default: the variables' own. */
  cursor?: unknown;
  settings: SubscriptionSettings;
  logger: Logger;
}

/**
 * The primary fetch of one subscription plan as a graphql-ws subscription to the owning subgraph, kept alive:
 * when the subgraph's socket drops abnormally (instance restart, crash, network) it reconnects with backoff and,
 * for a resumable root field, resubscribes from the cursor of the last event it received, so nothing is missed or
 * repeated; a subgraph down for longer than `upstreamUnavailableAfterMs` fails it with SUBGRAPH_UNAVAILABLE.
 * Subscribe-time refusals of the subgraph (errors and no data, or a graphql-ws `error`) fail it with the
 * subgraph's codes. Used by one client subscription alone, or by a group sharing it (`SharedSubscriptions`).
 */
export class UpstreamFeed {
  readonly #options: UpstreamFeedOptions;
  readonly #sink: UpstreamFeedSink;
  #cancel: (() => void) | undefined;
  #stopListening: (() => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #downSince: number | undefined;
  #stopped = false;
  /** Cursor of the last event received: the resume point. */
  cursor: unknown;
  /** Events received from the subgraph so far. */
  received = 0;
  /** Times the upstream was subscribed again after a drop. */
  resubscriptions = 0;

  constructor(options: UpstreamFeedOptions, sink: UpstreamFeedSink) {
    this.#options = options;
    this.#sink = sink;
    this.cursor = options.cursor;
  }

  start(): void {
    this.#stopListening = this.#options.upstream.onConnected(() => {
      // The subgraph is back: the next drop starts a fresh backoff.
      this.#attempt = 0;
      this.#downSince = undefined;
    });
    this.#subscribe();
  }

  /** Stops for good: unsubscribes upstream, cancels a pending reconnection. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#cancel?.();
    this.#cancel = undefined;
    this.#stopListening?.();
    this.#stopListening = undefined;
  }

  #subscribe(): void {
    const { planned } = this.#options;
    const variables = this.#variables();
    const primaryVariables = Object.fromEntries(
      (planned.primary.variableUsages ?? [])
        .filter((name) => variables[name] !== undefined)
        .map((name) => [name, variables[name]]),
    );
    let active = true;
    let first = true;
    const dispose = this.#options.upstream.subscribe(
      {
        query: planned.primary.operation,
        operationName: planned.primary.operationName ?? null,
        variables: primaryVariables,
      },
      {
        next: (event) => {
          if (!active) return;
          const isFirst = first;
          first = false;
          this.#onEvent(event as UpstreamEvent, isFirst);
        },
        error: (error: unknown) => {
          if (!active) return;
          active = false;
          this.#onError(error);
        },
        complete: () => {
          if (!active) return;
          active = false;
          this.stop();
          this.#sink.end();
        },
      },
    );
    this.#cancel = () => {
      active = false;
      dispose();
    };
  }

  /** The variables to (re)subscribe with: the resume argument set to the last cursor received, once there is one. */
  #variables(): Record<string, unknown> {
    const { planned, variables } = this.#options;
    return planned.resume && this.cursor !== undefined
      ? { ...variables, [RESUME_VARIABLE]: this.cursor }
      : variables;
  }

  #onEvent(event: UpstreamEvent, first: boolean): void {
    if (this.#stopped) return;
    // graphql-js answers a subscription refused at subscribe time (FORBIDDEN, NOT_FOUND, bad input) with a result
    // that has errors and no `data` at all, then completes: that is the client's `error`, not an event.
    if (first && event.errors?.length && !('data' in event)) {
      this.#fail(new SubscriptionFailure(event.errors.map((error) => this.#mask(error))));
      return;
    }
    this.received += 1;
    this.#attempt = 0;
    this.#downSince = undefined;
    const { planned } = this.#options;
    if (planned.resume) {
      const cursor = cursorOf(event.data, planned.resume);
      if (cursor !== undefined) this.cursor = cursor;
    }
    this.#sink.event(event);
  }

  #onError(error: unknown): void {
    if (this.#stopped) return;
    const subgraph = this.#options.planned.primary.serviceName;
    if (Array.isArray(error)) {
      // The subgraph's `error` message: the operation itself was refused.
      this.#fail(new SubscriptionFailure((error as GraphQLFormattedError[]).map((item) => this.#mask(item))));
      return;
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'number' && !UPSTREAM_RETRYABLE_CLOSE_CODES.has(code)) {
      this.#options.logger.error(
        { subgraph, code, reason: (error as { reason?: unknown }).reason },
        'subgraph closed a subscription socket with a protocol error',
      );
      this.#fail(unavailable(subgraph));
      return;
    }
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    const { settings, logger, planned } = this.#options;
    const subgraph = planned.primary.serviceName;
    const now = Date.now();
    this.#downSince ??= now;
    if (now - this.#downSince >= settings.upstreamUnavailableAfterMs) {
      logger.warn(
        { subgraph, downForMs: now - this.#downSince },
        'subgraph unreachable for too long; ending its subscription',
      );
      this.#fail(unavailable(subgraph));
      return;
    }
    const backoff = Math.min(
      settings.upstreamRetryMaxMs,
      settings.upstreamRetryInitialMs * 2 ** this.#attempt,
    );
    const delay = Math.min(
      backoff * (0.5 + Math.random() / 2),
      settings.upstreamUnavailableAfterMs - (now - this.#downSince),
    );
    this.#attempt += 1;
    logger.debug(
      { subgraph, attempt: this.#attempt, delayMs: Math.round(delay) },
      'subgraph subscription socket dropped; reconnecting',
    );
    this.#retryTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.resubscriptions += 1;
      this.#subscribe();
    }, delay);
  }

  #mask(error: GraphQLFormattedError): GraphQLFormattedError {
    return maskError(error, codedError(ErrorCode.INTERNAL_SERVER_ERROR, error.message), this.#options.logger);
  }

  #fail(failure: SubscriptionFailure): void {
    this.stop();
    this.#sink.fail(failure);
  }
}

function unavailable(subgraph: string): SubscriptionFailure {
  return SubscriptionFailure.of(ErrorCode.SUBGRAPH_UNAVAILABLE, `The ${subgraph} service is unavailable.`, {
    subgraph,
  });
}
