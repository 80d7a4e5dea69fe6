import { ErrorCode, type Logger } from '@cap/runtime';
import type { FormattedExecutionResult } from 'graphql';
import type { SubscriptionSettings } from '../settings.js';
import { resolveEvent, type EventResolution } from './resolveEvent.js';
import { cursorOf } from './resumableFields.js';
import type { GroupSpec, SharedEvent, SharedSubscriptions } from './SharedSubscriptions.js';
import { SubscriptionFailure } from './SubscriptionFailure.js';
import { UpstreamFeed, type UpstreamEvent } from './UpstreamFeed.js';
import type { Upstream } from './UpstreamPool.js';

interface Entry {
  event: UpstreamEvent;
  /** Set when a group received the event: its result is completed once for every member. */
  shared?: SharedEvent;
  result?: Promise<FormattedExecutionResult>;
}

export interface FederatedSubscriptionOptions extends EventResolution {
  /** The client connection's socket to the owning subgraph (asked for only when it subscribes on its own). */
  upstream: () => Upstream;
  /** Share one upstream subscription with identical ones (ADR 0021); absent = always on its own. */
  share?: { registry: SharedSubscriptions; key: string; spec: GroupSpec };
  settings: SubscriptionSettings;
  logger: Logger;
}

/**
 * One client subscription executed across the federation (the Hive/Cosmo model): the plan's primary fetch is a
 * graphql-ws subscription to the owning subgraph ({@link UpstreamFeed}: reconnection, resumption from the
 * cursor, SUBGRAPH_UNAVAILABLE), and each event it yields runs the rest of the plan (entity fields of other
 * subgraphs over HTTP), delivered in order.
 *
 * Identical subscriptions share one upstream subscription and one completion per event
 * ({@link SharedSubscriptions}); this client's buffer, cursor and back-pressure stay its own. A client slower than
 * the subgraph pauses at `maxBufferedEvents`: a resumable subscription leaves its group (or stops its upstream)
 * and resumes on a subscription of its own from its cursor once caught up; other subscriptions end with
 * OPERATION_LIMIT_EXCEEDED there.
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
  #feed: UpstreamFeed | undefined;
  #leaveGroup: (() => void) | undefined;
  #paused = false;
  #pauses = 0;
  #pastFeedResubscriptions = 0;
  /** Cursor of the last event received (and queued for delivery): the resume point. */
  #cursor: unknown;
  /** Events received from the subgraph so far (for tests and logs). */
  received = 0;

  constructor(options: FederatedSubscriptionOptions) {
    this.#options = options;
  }

  /** Times the upstream was subscribed again after a drop or a pause. */
  get resubscriptions(): number {
    return this.#pauses + this.#pastFeedResubscriptions + (this.#feed?.resubscriptions ?? 0);
  }

  /** Whether this subscription currently receives its events through a shared group. */
  get shared(): boolean {
    return this.#leaveGroup !== undefined;
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
          this.#pauses += 1;
          this.#subscribeAlone();
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
    const share = this.#options.share;
    if (!share) return this.#subscribeAlone();
    this.#leaveGroup = share.registry.join(share.key, share.spec, {
      event: (shared) => this.#onEvent(shared.event, shared),
      fail: (failure) => {
        this.#leaveGroup = undefined;
        this.#end(failure);
      },
      end: () => {
        this.#leaveGroup = undefined;
        this.#end();
      },
      context: this.#options.context,
    });
  }

  /** Subscribes upstream on its own (not shared), from the cursor of the last event received. */
  #subscribeAlone(): void {
    const { planned, variables, settings, logger } = this.#options;
    this.#pastFeedResubscriptions += this.#feed?.resubscriptions ?? 0;
    this.#feed = new UpstreamFeed(
      { planned, variables, upstream: this.#options.upstream(), cursor: this.#cursor, settings, logger },
      {
        event: (event) => this.#onEvent(event, undefined),
        fail: (failure) => this.#end(failure),
        end: () => this.#end(),
      },
    );
    this.#feed.start();
  }

  #onEvent(event: UpstreamEvent, shared: SharedEvent | undefined): void {
    if (this.#closed || this.#ended || this.#paused) return;
    this.received += 1;
    const { planned, settings } = this.#options;
    if (planned.resume) {
      const cursor = cursorOf(event.data, planned.resume);
      if (cursor !== undefined) this.#cursor = cursor;
    }
    this.#queue.push(shared ? { event, shared } : { event });
    this.#pump();
    this.#wake?.();
    if (this.#queue.length >= settings.maxBufferedEvents) {
      if (planned.resume && this.#cursor !== undefined) {
        // Back-pressure without loss, and without holding anyone else up: stop receiving (leave the group or stop
        // the upstream) and pick up from the cursor on a subscription of its own once the client caught up.
        this.#paused = true;
        this.#stopSource();
      } else {
        this.#end(
          SubscriptionFailure.of(
            ErrorCode.OPERATION_LIMIT_EXCEEDED,
            'The client reads events slower than they arrive; the subscription was ended.',
            { limit: 'bufferedEvents', max: settings.maxBufferedEvents },
          ),
        );
      }
    }
  }

  /** Starts completing the first `eventConcurrency` queued events (they are delivered in order regardless). */
  #pump(): void {
    const limit = Math.min(this.#queue.length, this.#options.settings.eventConcurrency);
    for (let index = 0; index < limit; index += 1) {
      const entry = this.#queue[index]!;
      entry.result ??= entry.shared ? entry.shared.result() : resolveEvent(this.#options, entry.event);
    }
  }

  #end(failure?: SubscriptionFailure): void {
    if (this.#ended) return;
    this.#ended = failure ? { failure } : {};
    this.#stopSource();
    this.#wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSource();
    this.#queue.length = 0;
    this.#wake?.();
  }

  #stopSource(): void {
    this.#feed?.stop();
    const leave = this.#leaveGroup;
    this.#leaveGroup = undefined;
    leave?.();
  }
}
