import { randomUUID } from 'node:crypto';
import { signRouterToken, type Principal } from '@cap/runtime';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './waitFor.js';

/**
 * A graphql-ws client connected to a subgraph as the router would: a fresh router token for `principal` in every
 * `connection_init` (`{ routerToken }`), as the router signs one per upstream connection. Lazy, no retries
 * unless asked. The caller disposes it (tests keep their clients in a set and dispose them all at the end).
 */
export function subgraphWsClient(
  graphqlUrl: string,
  secret: string,
  principal: Principal,
  options: { retryAttempts?: number } = {},
): Client {
  return createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: async () => ({
      routerToken: await signRouterToken(secret, {
        principal,
        requestId: randomUUID(),
        clientIp: '198.51.100.7',
      }),
    }),
    retryAttempts: options.retryAttempts ?? 0,
    lazy: true,
  });
}

/** What a subscription received so far, with ways to wait for more. */
export interface CollectedSubscription<T> {
  /** `data[field]` of every event, in arrival order. */
  events: T[];
  /** Errors of `next` results, then what ended the subscription with an error. */
  errors: unknown[];
  /** Errors of `next` results only. */
  resultErrors: unknown[];
  /** What ended the subscription with an error (the `error` message's payload, or the close event); else undefined. */
  failedWith: unknown;
  /** True once the server completed the subscription or it failed. */
  readonly completed: boolean;
  /** Resolves when the subscription completed or failed. */
  done: Promise<void>;
  /** Waits until at least `count` events arrived; fails after `timeoutMs` or when the subscription ends short. */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Waits until `predicate` holds for the events so far; fails after `timeoutMs` naming what arrived. */
  until(predicate: (events: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
  /** Waits until the subscription failed (or got an error result) and returns the errors' codes. */
  failure(timeoutMs?: number): Promise<string[]>;
  /** Stops reading: events still in flight are ignored, as a client that went away would never see them. */
  stop(): void;
}

/** The `extensions.code` (GraphQL errors) or `code` (close events) of an error payload or list of them. */
function codesOf(error: unknown): string[] {
  const list = Array.isArray(error) ? (error as unknown[]) : [error];
  return list.map((item) =>
    String(
      (item as { extensions?: { code?: unknown } } | undefined)?.extensions?.code ??
        (item as { code?: unknown } | undefined)?.code,
    ),
  );
}

/**
 * Subscribes with a graphql-ws `client` and collects `data[field]` of every event: the one collector of the
 * tests (subgraph tests over a {@link subgraphWsClient}, router tests over a client of the router).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary event shapes
export function collectSubscription<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): CollectedSubscription<T> {
  let finished = false;
  let stopped = false;
  let resolveDone: () => void = () => undefined;
  const describe = (): string =>
    `${collected.events.length} events, errors ${JSON.stringify(collected.errors).slice(0, 500)}`;
  const end = (): void => {
    finished = true;
    resolveDone();
  };
  const collected: CollectedSubscription<T> = {
    events: [],
    errors: [],
    resultErrors: [],
    failedWith: undefined,
    get completed() {
      return finished;
    },
    done: new Promise<void>((resolve) => (resolveDone = resolve)),
    waitFor: async (count, timeoutMs = 10_000) => {
      await waitFor(() => collected.events.length >= count || finished, {
        timeoutMs,
        intervalMs: 20,
        message: () => `${count} events (have ${describe()})`,
      });
      if (collected.events.length < count)
        throw new Error(
          `subscription ended after ${collected.events.length} of ${count} events: ${describe()}`,
        );
      return collected.events.slice(0, count);
    },
    until: (predicate, timeoutMs = 15_000) =>
      waitFor(() => (predicate(collected.events) ? collected.events : undefined), {
        timeoutMs,
        intervalMs: 20,
        message: () => `subscription condition not met; ${describe()}`,
      }),
    failure: async (timeoutMs = 10_000) => {
      await waitFor(() => finished || collected.errors.length > 0, {
        timeoutMs,
        intervalMs: 20,
        message: 'the subscription to fail',
      });
      return collected.errors.flatMap(codesOf);
    },
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (stopped) return;
        if (result.errors) {
          collected.resultErrors.push(...result.errors);
          collected.errors.push(...result.errors);
        }
        if (result.data?.[field] !== undefined) collected.events.push(result.data[field]!);
      },
      error: (error) => {
        collected.failedWith = error;
        collected.errors.push(error);
        end();
      },
      complete: end,
    },
  );
  return collected;
}
