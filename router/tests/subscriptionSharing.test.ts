import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SigningKeyRing } from '@cap/identity';
import {
  createLogger,
  identityKeyOf,
  scopesForRole,
  type Principal,
  type Role,
  type Scope,
} from '@cap/runtime';
import { waitFor } from '@cap/testkit';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadSupergraphPolicy } from '../src/policy/supergraphPolicy.js';
import { SubscriptionEngine } from '../src/subscriptions/execution/SubscriptionEngine.js';
import { SupergraphFeed } from '../src/subscriptions/execution/supergraphFeed.js';
import { SubscriberSession } from '../src/subscriptions/session/SubscriberSession.js';
import { resolveSubscriptionSettings } from '../src/subscriptions/settings.js';
import { startStack, type Stack } from './harness.js';

/**
 * Identical client subscriptions share one upstream subscription and one completion per event (ADR 0021),
 * against the real identity, chat and orchestration subgraphs: callers of different identities never share a
 * result (entity fields resolved for each caller), order and completeness hold per client, and a client that
 * stops reading leaves its group without delaying the others.
 */
const logger = createLogger({ service: 'sharing-test', level: 'silent' });
let stack: Stack;
let wsUrl: string;
const clients = new Set<Client>();

interface User {
  id: string;
  email: string;
  token: string;
}

const MESSAGE_POSTED_AFTER = `subscription($c: ID!, $after: String) { messagePosted(conversationId: $c, after: $after) { seq body } }`;
const MESSAGE_POSTED = `subscription($c: ID!) { messagePosted(conversationId: $c) { seq body author { user { id email } } } }`;

beforeAll(async () => {
  stack = await startStack({}, {});
  wsUrl = stack.router.graphqlUrl.replace(/^http/, 'ws');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...clients].map((client) => client.dispose()));
  await stack?.[Symbol.asyncDispose]();
});

async function call<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const result = await stack.query<T>(query, variables, { authorization: `Bearer ${token}` });
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!;
}

async function tokenFor(userId: string, role: Role): Promise<string> {
  const ring = new SigningKeyRing({
    prisma: stack.identity.deps.prisma,
    secret: stack.signingKeySecret,
    audience: 'cap-router',
    issuer: 'cap-identity',
    accessTokenTtlSeconds: 600,
  });
  return (await ring.signAccessToken({ userId, role, scopes: scopesForRole(role), sessionId: randomUUID() }))
    .token;
}

async function createUser(name: string, adminToken: string): Promise<User> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const { createUser } = await call(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`,
    { input: { email, password: 'correct-horse-battery', displayName: name, role: 'DEVELOPER' } },
    adminToken,
  );
  return { id: createUser.id, email, token: await tokenFor(createUser.id, 'DEVELOPER') };
}

interface Watcher {
  events: Array<{ seq: number; body: string; author: { user: { id: string; email: string | null } } }>;
  errors: unknown[];
  stop(): void;
}

function watch(token: string, conversationId: string): Watcher {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
  clients.add(client);
  const watcher: Watcher = { events: [], errors: [], stop: () => undefined };
  watcher.stop = client.subscribe<{ messagePosted: Watcher['events'][number] }>(
    { query: MESSAGE_POSTED, variables: { c: conversationId } },
    {
      next: (result) => {
        if (result.errors) watcher.errors.push(...result.errors);
        if (result.data) watcher.events.push(result.data.messagePosted);
      },
      error: (error) => watcher.errors.push(error),
      complete: () => undefined,
    },
  );
  return watcher;
}

async function post(token: string, conversationId: string, body: string): Promise<void> {
  await call(
    `mutation($input: PostMessageInput!) { postMessage(input: $input) { seq } }`,
    { input: { conversationId, body } },
    token,
  );
}

/** Posts warm-up messages until every watcher received one: their subscriptions are then active. */
async function warmUp(token: string, conversationId: string, watchers: Watcher[]): Promise<number> {
  let posted = 0;
  await waitFor(
    async () => {
      await post(token, conversationId, `warm ${(posted += 1)}`);
      return watchers.every((watcher) => watcher.events.length > 0);
    },
    { timeoutMs: 20_000, intervalMs: 200, message: 'every watcher to receive a warm-up message' },
  );
  return posted;
}

describe('shared upstream subscriptions', () => {
  it('shares one upstream among identical subscriptions of one identity and never a result across identities', async () => {
    const admin = await stack.loginAdmin();
    const alice = await createUser('Alice', admin.accessToken);
    const bob = await createUser('Bob', admin.accessToken);
    const adminToken = await tokenFor(admin.userId, 'ADMIN');
    const { createConversation } = await call(
      `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
      { input: { title: 'sharing', participantUserIds: [bob.id, admin.userId] } },
      alice.token,
    );
    const conversationId = createConversation.id as string;
    const groupsBefore = stack.router.subscriptionStats().sharedUpstreams;

    // Three of Alice's subscriptions (three connections), one of Bob's, one of the admin's.
    const alices = [
      watch(alice.token, conversationId),
      watch(alice.token, conversationId),
      watch(alice.token, conversationId),
    ];
    const bobs = watch(bob.token, conversationId);
    const admins = watch(adminToken, conversationId);
    const everyone = [...alices, bobs, admins];
    const warm = await warmUp(alice.token, conversationId, everyone);
    // One group per identity: Alice's three subscriptions share one upstream subscription.
    expect(stack.router.subscriptionStats().sharedUpstreams - groupsBefore).toBe(3);

    for (let index = 1; index <= 20; index += 1) await post(alice.token, conversationId, `m${index}`);
    const last = warm + 20;
    await waitFor(() => everyone.every((watcher) => watcher.events.at(-1)?.seq === last), {
      timeoutMs: 20_000,
      message: () => `every watcher to reach seq ${last}: ${everyone.map((w) => w.events.at(-1)?.seq)}`,
    });
    for (const watcher of everyone) {
      expect(watcher.errors).toEqual([]);
      // In order, each once, without a gap from the first event the watcher received.
      const seqs = watcher.events.map((event) => event.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => seqs[0]! + index));
    }
    // Alice's email is visible to Alice and to admins only: each identity got its own completion.
    const emails = (watcher: Watcher) => new Set(watcher.events.map((event) => event.author.user.email));
    for (const watcher of alices) expect(emails(watcher)).toEqual(new Set([alice.email]));
    expect(emails(admins)).toEqual(new Set([alice.email]));
    expect(emails(bobs)).toEqual(new Set([null]));

    for (const watcher of everyone) watcher.stop();
    await waitFor(() => stack.router.subscriptionStats().sharedUpstreams === groupsBefore, {
      timeoutMs: 10_000,
      message: 'the groups to close with their last member',
    });
  }, 90_000);

  it('a member that stops reading leaves its group without delaying the others, and resumes from its own cursor', async () => {
    const admin = await stack.loginAdmin();
    const alice = await createUser('Alice', admin.accessToken);
    const { createConversation } = await call(
      `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id latestCursor } }`,
      { input: { title: 'slow reader' } },
      alice.token,
    );
    const conversationId = createConversation.id as string;
    const after = createConversation.latestCursor as string;
    const feed = new SupergraphFeed();
    feed.publish(
      loadSupergraphPolicy(readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8'))
        .gatewaySdl,
    );
    const settings = resolveSubscriptionSettings({ maxBufferedEvents: 4, eventConcurrency: 2 });
    const engine = new SubscriptionEngine({
      feed,
      subgraphUrls: {
        identity: stack.identity.subgraph.graphqlUrl,
        chat: stack.chat.subgraph.graphqlUrl,
        orchestration: stack.orchestration.subgraph.graphqlUrl,
      },
      subgraphTimeoutMs: 5_000,
      prepareOperation: undefined,
      finishEvent: undefined,
      settings,
      logger,
      internalTokenSecret: stack.secret,
    });
    const principal: Principal = {
      kind: 'user',
      userId: alice.id,
      role: 'DEVELOPER',
      scopes: scopesForRole('DEVELOPER'),
    };
    const session = () =>
      new SubscriberSession({
        principal,
        credential: { kind: 'anonymous' },
        requestId: randomUUID(),
        clientIp: '127.0.0.1',
        internalTokenSecret: stack.secret,
        upstream: { urlOf: (subgraph) => engine.webSocketUrlOf(subgraph), settings, logger },
      });
    const sessions = [session(), session()];
    try {
      const start = async (index: number) => {
        const started = await engine.start(
          { query: MESSAGE_POSTED_AFTER, operationName: undefined, variables: { c: conversationId, after } },
          sessions[index]!,
        );
        if (started.kind !== 'run') throw new Error(JSON.stringify(started.errors));
        return started.subscription;
      };
      const fast = await start(0);
      const slow = await start(1);
      const fastFirst = fast.next();
      const slowFirst = slow.next();
      await waitFor(() => engine.sharing!.groups === 1 && fast.shared && slow.shared, {
        message: 'both subscriptions in one group',
      });
      // Both read m1 (so the upstream is live), then only `fast` reads on.
      await post(alice.token, conversationId, 'm1');
      const bodyOf = (result: IteratorResult<unknown>) =>
        (result.value as { data: { messagePosted: { body: string } } }).data.messagePosted.body;
      expect(bodyOf(await fastFirst)).toBe('m1');
      expect(bodyOf(await slowFirst)).toBe('m1');
      const fastBodies: string[] = [];
      for (let index = 2; index <= 12; index += 1) {
        await post(alice.token, conversationId, `m${index}`);
        fastBodies.push(bodyOf(await fast.next()));
      }
      // The reader that stopped did not hold the other one up; it left the group at its buffer's limit.
      expect(fastBodies).toEqual(Array.from({ length: 11 }, (_, index) => `m${index + 2}`));
      expect(slow.received).toBe(1 + settings.maxBufferedEvents);
      expect(slow.shared).toBe(false);
      expect(fast.shared).toBe(true);
      // Reading again, it gets everything in order from its own cursor, on a subscription of its own.
      const slowBodies: string[] = [];
      for (let index = 2; index <= 12; index += 1) slowBodies.push(bodyOf(await slow.next()));
      expect(slowBodies).toEqual(fastBodies);
      expect(slow.resubscriptions).toBeGreaterThan(0);
      await fast.return();
      await slow.return();
      await waitFor(() => engine.sharing!.groups === 0, { message: 'the group to close' });
    } finally {
      engine.close();
      await Promise.all(sessions.map((one) => one.dispose()));
    }
  }, 90_000);
});

describe('sharing keys', () => {
  const base: Principal = {
    kind: 'user',
    userId: 'u1',
    role: 'DEVELOPER',
    scopes: scopesForRole('DEVELOPER'),
  };
  const scopes = scopesForRole('ADMIN') as readonly Scope[];

  it('differ whenever anything a resolver may read of the caller differs, and ignore scope order', () => {
    const variants: Principal[] = [
      base,
      { ...base, userId: 'u2' },
      { ...base, role: 'ADMIN' },
      { ...base, scopes: scopes },
      { kind: 'anonymous' },
      { kind: 'apiKey', userId: 'u1', apiKeyId: 'k1', role: 'DEVELOPER', scopes: base.scopes, tier: 'FREE' },
      { kind: 'apiKey', userId: 'u1', apiKeyId: 'k2', role: 'DEVELOPER', scopes: base.scopes, tier: 'FREE' },
      { kind: 'apiKey', userId: 'u1', apiKeyId: 'k1', role: 'DEVELOPER', scopes: base.scopes, tier: 'PRO' },
    ];
    // Every subset of the admin scopes is its own identity (generated, not hand-picked).
    for (let mask = 0; mask < 1 << Math.min(scopes.length, 8); mask += 1)
      variants.push({ ...base, scopes: scopes.filter((_, index) => (mask >> index) & 1) });
    const keys = variants.map(identityKeyOf);
    const canonical = (variant: Principal) =>
      JSON.stringify(
        variant.kind === 'anonymous' ? variant : { ...variant, scopes: [...variant.scopes].sort() },
      );
    const distinct = new Set(variants.map(canonical));
    expect(new Set(keys).size).toBe(distinct.size);
    expect(identityKeyOf({ ...base, scopes: [...base.scopes].reverse() })).toBe(identityKeyOf(base));
  });
});
