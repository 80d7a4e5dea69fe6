import { randomBytes, randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  graphqlRuntime,
  scopesForRole,
  signRouterToken,
  startSubgraphServer,
  type Principal,
  type RunningSubgraph,
} from '../src/index.js';

/**
 * The subgraph server's subscriptions execute each event once per (document, variables, identity) and send the
 * same bytes to every subscriber of that key (ADR 0021), over real graphql-ws sockets: callers of different
 * identities never share a result, every subscriber gets every event in order, and nothing a client chooses (its
 * subscription ids, the order of its variables) can mix results up.
 */
const secret = randomBytes(32).toString('hex');
const logger = pino({ level: 'silent' });

/** A topic hub handing every subscriber the same event objects, as the live feeds do. */
const topics = new Map<string, Set<(event: object) => void>>();
function publish(topic: string, event: object): void {
  for (const push of topics.get(topic) ?? []) push(event);
}
function stream(topic: string): AsyncIterableIterator<object> {
  const queue: object[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const push = (event: object): void => {
    queue.push(event);
    wake?.();
  };
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic)!.add(push);
  const iterator: AsyncIterableIterator<object> = {
    next: async () => {
      while (queue.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
      return closed ? { done: true, value: undefined } : { done: false, value: queue.shift()! };
    },
    return: async () => {
      closed = true;
      topics.get(topic)?.delete(push);
      wake?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

let viewerResolutions = 0;
const schema = graphqlRuntime.buildSchema(`
  type Query { ok: Boolean }
  type Event { n: Int! label: String viewer: String! secret: String }
  type Subscription { events(topic: String!, label: String, tag: String): Event! }
`);
const subscriptionFields = schema.getSubscriptionType()!.getFields();
subscriptionFields['events']!.subscribe = (_root, args: { topic: string }) => stream(args.topic);
subscriptionFields['events']!.resolve = (event: object) => event;
const eventFields = (
  schema.getType('Event') as InstanceType<typeof graphqlRuntime.GraphQLObjectType>
).getFields();
eventFields['label']!.resolve = (_event, _args, _ctx, info) => info.variableValues['label'] ?? null;
eventFields['viewer']!.resolve = (_event, _args, ctx) => {
  viewerResolutions += 1;
  const { principal } = ctx as { principal: Principal };
  return principal.kind === 'anonymous' ? 'anonymous' : principal.userId;
};
// Visible to admins only: a result computed for an admin must never reach anyone else.
eventFields['secret']!.resolve = (event, _args, ctx) => {
  const { principal } = ctx as { principal: Principal };
  return principal.kind !== 'anonymous' && principal.role === 'ADMIN'
    ? `secret ${(event as { n: number }).n}`
    : null;
};

let server: RunningSubgraph;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startSubgraphServer({
    name: 'shared-execution-test',
    schema,
    host: '127.0.0.1',
    port: 0,
    internalTokenSecret: secret,
    logger,
    context: ({ claims }) => ({ principal: claims.principal }),
  });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.dispose()));
  await server?.close();
});

const user = (
  userId: string,
  role: 'DEVELOPER' | 'ADMIN' = 'DEVELOPER',
): Extract<Principal, { kind: 'user' }> => ({
  kind: 'user',
  userId,
  role,
  scopes: scopesForRole(role),
});

interface Received {
  events: Array<{ n: number; label: string | null; viewer: string; secret: string | null }>;
  errors: unknown[];
}

function subscribe(
  principal: Principal,
  variables: Record<string, unknown>,
  options: { id?: () => string } = {},
): Received {
  const client = createClient({
    url: server.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: async () => ({
      routerToken: await signRouterToken(secret, {
        principal,
        requestId: randomUUID(),
        clientIp: '127.0.0.1',
      }),
    }),
    retryAttempts: 0,
    lazy: true,
    ...(options.id ? { generateID: options.id } : {}),
  });
  clients.push(client);
  const received: Received = { events: [], errors: [] };
  client.subscribe<{ events: Received['events'][number] }>(
    {
      query: `subscription($topic: String!, $label: String, $tag: String) { events(topic: $topic, label: $label, tag: $tag) { n label viewer secret } }`,
      variables,
    },
    {
      next: (result) => {
        if (result.errors) received.errors.push(...result.errors);
        if (result.data) received.events.push(result.data.events);
      },
      error: (error) => received.errors.push(error),
      complete: () => undefined,
    },
  );
  return received;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('shared execution of subscription events', () => {
  it('executes each event once per identity and never hands one identity the result of another', async () => {
    const topic = randomUUID();
    const alice = user('alice');
    const subscribers = [
      { who: 'alice', principal: alice, received: subscribe(alice, { topic }) },
      { who: 'alice', principal: alice, received: subscribe(alice, { topic }) },
      // Same user, scopes in another order: the same identity.
      {
        who: 'alice',
        principal: alice,
        received: subscribe({ ...alice, scopes: [...alice.scopes].reverse() }, { topic }),
      },
      { who: 'bob', principal: user('bob'), received: subscribe(user('bob'), { topic }) },
      {
        who: 'admin',
        principal: user('admin', 'ADMIN'),
        received: subscribe(user('admin', 'ADMIN'), { topic }),
      },
    ];
    await until(() => (topics.get(topic)?.size ?? 0) === subscribers.length, 'every subscription to start');
    const executedBefore = server.liveExecution!.stats.executed;
    const resolutionsBefore = viewerResolutions;
    const count = 50;
    for (let n = 1; n <= count; n += 1) publish(topic, { n });
    await until(
      () => subscribers.every(({ received }) => received.events.length === count),
      'every subscriber to receive every event',
    );
    for (const { who, received } of subscribers) {
      expect(received.errors).toEqual([]);
      expect(received.events.map((event) => event.n)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(new Set(received.events.map((event) => event.viewer))).toEqual(new Set([who]));
      for (const event of received.events)
        expect(event.secret).toBe(who === 'admin' ? `secret ${event.n}` : null);
    }
    // Three identities: three executions per event, not five.
    expect(server.liveExecution!.stats.executed - executedBefore).toBe(3 * count);
    expect(viewerResolutions - resolutionsBefore).toBe(3 * count);
  });

  it('shares across variable order but never across variable values', async () => {
    const topic = randomUUID();
    const alice = user('alice');
    const labels = ['a', 'b', null, '', '"payload":{"__capSharedPayload":1}}'];
    const subscribers = labels.flatMap((label) => [
      { label, received: subscribe(alice, { topic, label, tag: 't' }) },
      // The same variables in another key order.
      { label, received: subscribe(alice, { tag: 't', label, topic }) },
    ]);
    await until(() => (topics.get(topic)?.size ?? 0) === subscribers.length, 'every subscription to start');
    const executedBefore = server.liveExecution!.stats.executed;
    for (let n = 1; n <= 10; n += 1) publish(topic, { n });
    await until(() => subscribers.every(({ received }) => received.events.length === 10), 'every event');
    for (const { label, received } of subscribers)
      expect(new Set(received.events.map((event) => event.label))).toEqual(new Set([label]));
    expect(server.liveExecution!.stats.executed - executedBefore).toBe(labels.length * 10);
  });

  it('keeps messages well-formed whatever subscription ids a client chooses', async () => {
    const topic = randomUUID();
    // Generated hostile ids: the placeholder's own text, quotes, braces, escapes, long and unicode ids.
    const pieces = [
      '"payload":{"__capSharedPayload":',
      '}}',
      '"',
      '\\',
      '\u0000',
      '{"id":',
      '𝄞',
      'x'.repeat(200),
    ];
    const ids = Array.from({ length: 16 }, (_, index) =>
      Array.from({ length: 1 + (index % 4) }, (_, j) => pieces[(index * 3 + j) % pieces.length]).join(''),
    );
    const subscribers = ids.map((id) => subscribe(user('carol'), { topic }, { id: () => id }));
    await until(() => (topics.get(topic)?.size ?? 0) === ids.length, 'every subscription to start');
    for (let n = 1; n <= 5; n += 1) publish(topic, { n });
    await until(() => subscribers.every((received) => received.events.length === 5), 'every event');
    for (const received of subscribers) {
      expect(received.errors).toEqual([]);
      expect(received.events.map((event) => [event.n, event.viewer])).toEqual(
        [1, 2, 3, 4, 5].map((n) => [n, 'carol']),
      );
    }
  });
});
