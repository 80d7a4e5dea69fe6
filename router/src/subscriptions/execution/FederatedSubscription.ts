import { codedError, ErrorCode, type Logger } from '@cap/runtime';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { maskError } from '../../maskError.js';
import type { RouterContext } from '../../routerContext.js';
import { UPSTREAM_RETRYABLE_CLOSE_CODES } from '../transport/closeCodes.js';
import type { LoadedSupergraph, PlannedSubscription } from './LoadedSupergraph.js';
import { cursorOf, RESUME_VARIABLE } from './resumableFields.js';
import type { SubscriptionSettings } from '../settings.js';
import { INTERNAL_ERROR, SubscriptionFailure } from './SubscriptionFailure.js';
import type { Upstream } from './UpstreamPool.js';

/** One event as a subgraph sent it. */
interface UpstreamEvent {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

interface Entry {
  event: UpstreamEvent;
  result?: Promise<FormattedExecutionResult>;
}

export interface FederatedSubscriptionOptions {
  supergraph: LoadedSupergraph;
  planned: PlannedSubscription;
  /** The operation's variables, including the resume argument's initial value. */
  variables: Record<string, unknown>;
  upstream: Upstream;
  /** Context of the HTTP fetches that resolve each event's entity fields (router token, request id). */
  context: () => RouterContext;
  /** Applied to each formatted result before it is sent (e.g. the policies' denials). */
  finish?: (result: FormattedExecutionResult) => void;
  settings: SubscriptionSettings;
  logger: Logger;
}

/**
 * One client subscription executed across the federation (the Hive/Cosmo model): the plan's primary fetch is a
 * graphql-ws subscription to the owning subgraph, and each event it yields runs the rest of the plan (entity
 * fields of other subgraphs over HTTP), delivered in order.
 *
 * When the subgraph's socket drops abnormally (instance restart, crash, network), it reconnects with backoff and,
 * for a resumable root field, resubscribes from the cursor of the last event it received, so the client sees no
 * gap and no duplicate; a subgraph down for longer than `upstreamUnavailableAfterMs` ends the subscription with
 * SUBGRAPH_UNAVAILABLE. A client slower than the subgraph pauses a resumable upstream at `maxBufferedEvents` and
 * resumes it from the cursor once caught up; other subscriptions end with OPERATION_LIMIT_EXCEEDED there.
 *
 * An async iterator of formatted results; it throws a {@link SubscriptionFailure} when the subscription ends
 * with errors (refused at subscribe time by the subgraph, or the subgraph stayed unavailable).
 */
export class FederatedSubscription implements AsyncIterableIterator<FormattedExecutionResult> {
  readonly #options: FederatedSubscriptionOptions;
  readonly #queue: Entry[] = [];
  #started = false;
  /** Set once the consumer stopped (unsubscribed, disconnected): nothing more is read or sent. */
  #closed = false;
  /** Set once the upstream ended: after the queue drains, iteration completes (or throws `failure`). */
  #ended: { failure?: SubscriptionFailure } | undefined;
  #wake: (() => void) | undefined;
  #cancelUpstream: (() => void) | undefined;
  #stopListening: (() => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #downSince: number | undefined;
  #paused = false;
  /** Cursor of the last event received (and queued for delivery): the resume point. */
  #cursor: unknown;
  /** Events received from the subgraph so far (for tests and logs). */
  received = 0;
  /** Times the upstream was subscribed again after a drop or a pause. */
  resubscriptions = 0;

  constructor(options: FederatedSubscriptionOptions) {
    this.#options = options;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<FormattedExecutionResult>> {
    if (!this.#started) this.#start();
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      const head = this.#queue[0];
      if (head) {
        this.#pump();
        const value = await head.result!;
        this.#queue.shift();
        this.#pump();
        if (this.#paused && this.#queue.length <= Math.floor(this.#options.settings.maxBufferedEvents / 4)) {
          this.#paused = false;
          this.resubscriptions += 1;
          this.#subscribeUpstream();
        }
        if (this.#closed) return { done: true, value: undefined };
        return { done: false, value };
      }
      if (this.#ended) {
        const { failure } = this.#ended;
        this.#close();
        if (failure) throw failure;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<FormattedExecutionResult>> {
    this.#close();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<FormattedExecutionResult>> {
    this.#close();
    throw error;
  }

  #start(): void {
    this.#started = true;
    this.#stopListening = this.#options.upstream.onConnected(() => {
      // The subgraph is back: the next drop starts a fresh backoff.
      this.#attempt = 0;
      this.#downSince = undefined;
    });
    this.#subscribeUpstream();
  }

  #subscribeUpstream(): void {
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
          this.#onUpstreamError(error);
        },
        complete: () => {
          if (!active) return;
          active = false;
          this.#end();
        },
      },
    );
    this.#cancelUpstream = () => {
      active = false;
      dispose();
    };
  }

  /** The variables to (re)subscribe with: the resume argument set to the last cursor received, once there is one. */
  #variables(): Record<string, unknown> {
    const { planned, variables } = this.#options;
    return planned.resume && this.#cursor !== undefined
      ? { ...variables, [RESUME_VARIABLE]: this.#cursor }
      : variables;
  }

  #onEvent(event: UpstreamEvent, first: boolean): void {
    if (this.#closed || this.#ended) return;
    // graphql-js answers a subscription refused at subscribe time (FORBIDDEN, NOT_FOUND, bad input) with a result
    // that has errors and no `data` at all, then completes: that is the client's `error`, not an event.
    if (first && event.errors?.length && !('data' in event)) {
      this.#fail(new SubscriptionFailure(event.errors.map((error) => this.#mask(error))));
      return;
    }
    this.received += 1;
    this.#attempt = 0;
    this.#downSince = undefined;
    const { planned, settings } = this.#options;
    if (planned.resume) {
      const cursor = cursorOf(event.data, planned.resume);
      if (cursor !== undefined) this.#cursor = cursor;
    }
    this.#queue.push({ event });
    this.#pump();
    this.#wake?.();
    if (this.#queue.length >= settings.maxBufferedEvents && !this.#paused) {
      if (planned.resume && this.#cursor !== undefined) {
        // Back-pressure without loss: stop the upstream and pick it up from the cursor once the client caught up.
        this.#paused = true;
        this.#cancelUpstream?.();
      } else {
        this.#fail(
          SubscriptionFailure.of(
            ErrorCode.OPERATION_LIMIT_EXCEEDED,
            'The client reads events slower than they arrive; the subscription was ended.',
            {
              limit: 'bufferedEvents',
              max: settings.maxBufferedEvents,
            },
          ),
        );
      }
    }
  }

  #onUpstreamError(error: unknown): void {
    if (this.#closed || this.#ended) return;
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
      this.#fail(
        SubscriptionFailure.of(ErrorCode.SUBGRAPH_UNAVAILABLE, `The ${subgraph} service is unavailable.`, {
          subgraph,
        }),
      );
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
      this.#fail(
        SubscriptionFailure.of(ErrorCode.SUBGRAPH_UNAVAILABLE, `The ${subgraph} service is unavailable.`, {
          subgraph,
        }),
      );
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
      if (this.#closed || this.#ended) return;
      this.resubscriptions += 1;
      this.#subscribeUpstream();
    }, delay);
  }

  /** Starts resolving the first `eventConcurrency` queued events (they are delivered in order regardless). */
  #pump(): void {
    const limit = Math.min(this.#queue.length, this.#options.settings.eventConcurrency);
    for (let index = 0; index < limit; index += 1) {
      const entry = this.#queue[index]!;
      entry.result ??= this.#resolve(entry.event);
    }
  }

  async #resolve(event: UpstreamEvent): Promise<FormattedExecutionResult> {
    const { supergraph, planned, logger, finish } = this.#options;
    try {
      // The client's variables: only the primary fetch (already done) uses the resume argument.
      const executed = await supergraph.executeEvent(
        planned,
        event as never,
        this.#options.variables,
        this.#options.context,
        logger,
      );
      const result: FormattedExecutionResult =
        executed.errors.length > 0
          ? { data: executed.data, errors: executed.errors.map((error) => this.#mask(error)) }
          : { data: executed.data };
      finish?.(result);
      return result;
    } catch (error) {
      logger.error(
        { err: error, subgraph: planned.primary.serviceName },
        'failed to complete a subscription event',
      );
      return { data: null, errors: [INTERNAL_ERROR] };
    }
  }

  #mask(error: GraphQLFormattedError): GraphQLFormattedError {
    return maskError(error, codedError(ErrorCode.INTERNAL_SERVER_ERROR, error.message), this.#options.logger);
  }

  #fail(failure: SubscriptionFailure): void {
    this.#end(failure);
  }

  #end(failure?: SubscriptionFailure): void {
    if (this.#ended) return;
    this.#ended = failure ? { failure } : {};
    this.#stopUpstream();
    this.#wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopUpstream();
    this.#queue.length = 0;
    this.#wake?.();
  }

  #stopUpstream(): void {
    clearTimeout(this.#retryTimer);
    this.#cancelUpstream?.();
    this.#cancelUpstream = undefined;
    this.#stopListening?.();
    this.#stopListening = undefined;
  }
}
