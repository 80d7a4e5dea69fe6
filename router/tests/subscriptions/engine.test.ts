import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { scopesForRole } from '@cap/runtime';
import {} from '@cap/testkit';
import { getOperationAST, parse, print } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { loadSupergraphPolicy } from '../../src/policy/supergraphPolicy.js';
import { SubscriptionCloseCode } from '../../src/subscriptions/transport/closeCodes.js';
import { LoadedSupergraph } from '../../src/subscriptions/execution/LoadedSupergraph.js';
import {
  RESUME_CURSOR_ALIAS,
  RESUME_VARIABLE,
  withResumption,
} from '../../src/subscriptions/execution/resumableFields.js';
import { resolveSubscriptionSettings } from '../../src/subscriptions/settings.js';
import { SubscriberSession } from '../../src/subscriptions/session/SubscriberSession.js';
import { SubscriptionEngine } from '../../src/subscriptions/execution/SubscriptionEngine.js';
import { SupergraphFeed } from '../../src/subscriptions/execution/supergraphFeed.js';
import {
  secret,
  logger,
  identity,
  chat,
  orchestration,
  alice,
  bob,
  until,
  sleep,
  MESSAGE_POSTED,
  conversation,
  post,
  useSubscriptionStack,
} from './stack.js';

/**
 * The subscription engine on its own: close codes, the resume argument of resumable fields, backpressure on the
 * upstream of a resumable subscription.
 */
useSubscriptionStack();

describe('the subscription engine', () => {
  const gatewaySdl = () =>
    loadSupergraphPolicy(readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8'))
      .gatewaySdl;

  it('uses the graphql-transport-ws close codes', () => {
    expect(SubscriptionCloseCode.BAD_REQUEST).toBe(CloseCode.BadRequest);
    expect(SubscriptionCloseCode.UNAUTHORIZED).toBe(CloseCode.Unauthorized);
    expect(SubscriptionCloseCode.FORBIDDEN).toBe(CloseCode.Forbidden);
    expect(SubscriptionCloseCode.CONNECTION_INIT_TIMEOUT).toBe(CloseCode.ConnectionInitialisationTimeout);
    expect(SubscriptionCloseCode.SUBSCRIBER_ALREADY_EXISTS).toBe(CloseCode.SubscriberAlreadyExists);
    expect(SubscriptionCloseCode.TOO_MANY_REQUESTS).toBe(CloseCode.TooManyInitialisationRequests);
    expect(SubscriptionCloseCode.INTERNAL_SERVER_ERROR).toBe(CloseCode.InternalServerError);
  });

  it('routes the resume argument of resumable fields through its own variable, whatever the client passed', () => {
    const loaded = new LoadedSupergraph(gatewaySdl(), { subgraphUrls: {}, subgraphTimeoutMs: 1_000, logger });
    const schema = loaded.validationSchema;
    const rewrite = (query: string, variables: Record<string, unknown> = {}) => {
      const document = parse(query);
      const result = withResumption(
        document,
        getOperationAST(document)!,
        schema,
        variables,
        loaded.resumableFields,
      );
      return result && { query: print(result.document), variables: result.variables };
    };
    const literal = rewrite(`subscription { messagePosted(conversationId: "c", after: "abc") { id } }`)!;
    expect(literal.variables).toEqual({ [RESUME_VARIABLE]: 'abc' });
    expect(literal.query).toContain(`messagePosted(conversationId: "c", after: $${RESUME_VARIABLE})`);
    expect(literal.query).toContain(`${RESUME_CURSOR_ALIAS}: cursor`);
    const variable = rewrite(
      `subscription($a: String = "dflt") { m: messagePosted(conversationId: "c", after: $a) { id } }`,
    )!;
    expect(variable.variables).toEqual({ [RESUME_VARIABLE]: 'dflt' });
    expect(
      rewrite(`subscription($s: Int) { taskLogs(taskId: "t", afterSeq: $s) { seq } }`, { s: 7 })!.variables,
    ).toEqual({ s: 7, [RESUME_VARIABLE]: 7 });
    const absent = rewrite(`subscription { taskLogs(taskId: "t") { message } }`)!;
    expect(absent.variables).toEqual({});
    expect(absent.query).toContain(`$${RESUME_VARIABLE}: Int`);
    expect(absent.query).toContain(`${RESUME_CURSOR_ALIAS}: seq`);
    const batches = rewrite(`subscription { taskLogBatches(taskId: "t", afterSeq: 3) { entries { seq } } }`)!;
    expect(batches.variables).toEqual({ [RESUME_VARIABLE]: 3 });
    expect(batches.query).toContain(`taskLogBatches(taskId: "t", afterSeq: $${RESUME_VARIABLE})`);
    expect(batches.query).toContain(`${RESUME_CURSOR_ALIAS}: lastSeq`);
    expect(rewrite(`subscription { taskUpdated(taskId: "t") { id } }`)).toBeNull();
  });

  it('pauses the upstream of a resumable subscription whose reader falls behind, and resumes it from the cursor without loss', async () => {
    const feed = new SupergraphFeed();
    feed.publish(gatewaySdl());
    const settings = resolveSubscriptionSettings({ maxBufferedEvents: 4, eventConcurrency: 2 });
    const engine = new SubscriptionEngine({
      feed,
      subgraphUrls: {
        identity: identity.subgraph.graphqlUrl,
        chat: chat.subgraph.graphqlUrl,
        orchestration: orchestration.subgraph.graphqlUrl,
      },
      subgraphTimeoutMs: 5_000,
      prepareOperation: undefined,
      finishEvent: undefined,
      settings,
      logger,
    });
    const session = new SubscriberSession({
      principal: { kind: 'user', userId: bob.id, role: 'DEVELOPER', scopes: scopesForRole('DEVELOPER') },
      credential: { kind: 'anonymous' },
      requestId: randomUUID(),
      clientIp: '127.0.0.1',
      internalTokenSecret: secret,
      upstream: { urlOf: (subgraph) => engine.webSocketUrlOf(subgraph), settings, logger },
    });
    try {
      const { id: conversationId, latestCursor } = await conversation(alice, [bob]);
      const started = await engine.start(
        {
          query: MESSAGE_POSTED,
          operationName: undefined,
          variables: { conversationId, after: latestCursor },
        },
        session,
      );
      if (started.kind !== 'run') throw new Error(JSON.stringify(started.errors));
      const { subscription } = started;
      const firstRead = subscription.next();
      await post(alice, conversationId, 'm1');
      expect((await firstRead).value).toMatchObject({
        data: { messagePosted: { seq: 1, author: { user: { displayName: 'Alice' } } } },
      });
      // Nobody reads for a while: 11 messages arrive, more than the buffer holds.
      for (let index = 2; index <= 12; index += 1) await post(alice, conversationId, `m${index}`);
      await until(
        () => subscription.received >= 5,
        10_000,
        () => 'the buffer to fill',
      );
      await sleep(500);
      // m1 (read) and four buffered: the upstream stopped there instead of buffering the rest.
      expect(subscription.received).toBe(1 + settings.maxBufferedEvents);
      const bodies: string[] = [];
      for (let index = 2; index <= 12; index += 1) {
        const { value } = await subscription.next();
        bodies.push((value as any).data.messagePosted.body);
      }
      expect(bodies).toEqual(Array.from({ length: 11 }, (_, index) => `m${index + 2}`));
      expect(subscription.resubscriptions).toBeGreaterThan(0);
      await subscription.return();
    } finally {
      engine.close();
      await session.dispose();
    }
  }, 30_000);
});
