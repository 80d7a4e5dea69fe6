import { randomUUID } from 'node:crypto';
import { canonicalJson, identityKeyOf, type Logger, type Principal } from '@cap/runtime';
import type { FormattedExecutionResult } from 'graphql';
import type { RouterContext } from '../../routerContext.js';
import type { SubscriptionSettings } from '../settings.js';
import type { PlannedSubscription } from './LoadedSupergraph.js';
import { resolveEvent, type EventResolution } from './resolveEvent.js';
import type { SubscriptionFailure } from './SubscriptionFailure.js';
import { UpstreamFeed, type UpstreamEvent } from './UpstreamFeed.js';
import { UpstreamPool } from './UpstreamPool.js';

/** One upstream event as a group received it: its result is completed once, for every member that asks. */
export class SharedEvent {
  #result: Promise<FormattedExecutionResult> | undefined;

  constructor(
    readonly event: UpstreamEvent,
    private readonly complete: (event: UpstreamEvent) => Promise<FormattedExecutionResult>,
  ) {}

  result(): Promise<FormattedExecutionResult> {
    return (this.#result ??= this.complete(this.event));
  }
}

/** A client subscription taking part in a group. */
export interface GroupMember {
  event(shared: SharedEvent): void;
  fail(failure: SubscriptionFailure): void;
  end(): void;
  /** The member's context for entity fetches (its session's router token). */
  context(): RouterContext;
}

/** What a group needs to start: the first member's plan, variables, caller and policies. */
export interface GroupSpec extends Omit<EventResolution, 'context'> {
  principal: Principal;
  clientIp: string;
  /** Whether a member may join after events arrived (the subscription starts "from now", see the engine). */
  joinableWhileRunning: boolean;
}

export interface SharedSubscriptionsOptions {
  internalTokenSecret: string;
  /** The graphql-ws URL of a subgraph now (follows supergraph reloads). */
  urlOf: (subgraph: string) => string | undefined;
  settings: SubscriptionSettings;
  logger: Logger;
}

/**
 * Identical client subscriptions share one upstream subscription (ADR 0021): same plan (subgraph, field,
 * arguments, selection: one supergraph's cached plan of the same document), same variables, same identity
 * ({@link identityKeyOf}: user, API key, role, scopes). The group subscribes once, on its own socket carrying the
 * identity's router token, completes each event once (entity fields included) and hands the same result to every
 * member. Each member keeps its own buffer, cursor and back-pressure: one that falls `maxBufferedEvents` behind
 * leaves the group and continues on a subscription of its own from its own cursor, so it never delays the others.
 *
 * A member joins a running group only when that cannot change what it receives: before the group's first event
 * (any subscription), or at any time when the subscription starts "from now" (a resumable field without a
 * cursor and without a default). Otherwise a new group starts, and the old one runs on for its members.
 */
export class SharedSubscriptions {
  readonly #joinable = new Map<string, Group>();
  readonly #planIds = new WeakMap<PlannedSubscription, number>();
  #nextPlanId = 0;
  /** Groups running (each holds one upstream subscription). */
  groups = 0;

  constructor(private readonly options: SharedSubscriptionsOptions) {}

  /** The sharing key of a subscription: plan, variables and identity. */
  keyOf(planned: PlannedSubscription, variables: Record<string, unknown>, principal: Principal): string {
    let planId = this.#planIds.get(planned);
    if (planId === undefined) this.#planIds.set(planned, (planId = this.#nextPlanId += 1));
    return `${planId}\u0000${canonicalJson(variables)}\u0000${identityKeyOf(principal)}`;
  }

  /** Adds `member` to the group of `key` (starting one from `spec` if none can take it); returns how to leave. */
  join(key: string, spec: GroupSpec, member: GroupMember): () => void {
    let group = this.#joinable.get(key);
    if (!group || !group.joinable()) {
      group = new Group(spec, this.options, () => {
        this.groups -= 1;
        if (this.#joinable.get(key) === group) this.#joinable.delete(key);
      });
      this.groups += 1;
      this.#joinable.set(key, group);
    }
    return group.add(member);
  }
}

class Group {
  readonly #members = new Set<GroupMember>();
  readonly #pool: UpstreamPool;
  readonly #feed: UpstreamFeed;
  readonly #resolution: EventResolution;
  #started = false;
  #done = false;

  constructor(
    private readonly spec: GroupSpec,
    options: SharedSubscriptionsOptions,
    private readonly onDone: () => void,
  ) {
    const claims = { principal: spec.principal, requestId: randomUUID(), clientIp: spec.clientIp };
    this.#pool = new UpstreamPool({
      internalTokenSecret: options.internalTokenSecret,
      claims: () => claims,
      urlOf: options.urlOf,
      settings: options.settings,
      logger: options.logger,
    });
    // Entity fetches carry a current member's router token (all members are the same identity); an event still
    // completing after the last member left uses the last one's.
    let last: GroupMember | undefined;
    this.#resolution = {
      ...spec,
      context: () => (last = this.#members.values().next().value ?? last)!.context(),
    };
    this.#feed = new UpstreamFeed(
      {
        planned: spec.planned,
        variables: spec.variables,
        upstream: this.#pool.get(spec.planned.primary.serviceName)!,
        settings: options.settings,
        logger: spec.logger,
      },
      {
        event: (event) => {
          const shared = new SharedEvent(event, (received) => resolveEvent(this.#resolution, received));
          for (const member of [...this.#members]) member.event(shared);
        },
        fail: (failure) => this.#finish((member) => member.fail(failure)),
        end: () => this.#finish((member) => member.end()),
      },
    );
  }

  joinable(): boolean {
    return !this.#done && (this.spec.joinableWhileRunning || this.#feed.received === 0);
  }

  add(member: GroupMember): () => void {
    this.#members.add(member);
    if (!this.#started) {
      this.#started = true;
      this.#feed.start();
    }
    return () => {
      if (!this.#members.delete(member) || this.#members.size > 0) return;
      this.#stop();
    };
  }

  #finish(each: (member: GroupMember) => void): void {
    const members = [...this.#members];
    this.#members.clear();
    this.#stop();
    for (const member of members) each(member);
  }

  #stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#feed.stop();
    void this.#pool.dispose();
    this.onDone();
  }
}
