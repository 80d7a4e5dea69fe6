import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chatContracts,
  ChatMessagePosted,
  ChatTopic,
  createContractRegistry,
  parseEnvelope,
} from '@cap/events';
import { KafkaEventBus } from '@cap/messaging';
import { consumeUntil, errorCodes, kafkaBrokersFromEnv, userPrincipal } from '@cap/testkit';
import { createConversation, post, POST, startChatHarness, type ChatHarness } from './harness.js';

let h: ChatHarness;
/** Chat's contracts: every published record must validate against them. */
const chatRegistry = createContractRegistry(chatContracts);
beforeAll(async () => {
  h = await startChatHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('domain events', () => {
  it('writes ChatMessagePosted in the same transaction as the message: no event without the message, no message without the event', async () => {
    const alice = userPrincipal();
    const conversationId = await createConversation(h, alice);
    await post(h, alice, conversationId, 'first');

    // Make the outbox write fail: the whole post must roll back, sequence number included.
    await h.chat.deps.prisma.$executeRawUnsafe(
      'ALTER TABLE "chat"."outbox_events" RENAME TO "outbox_events_away"',
    );
    try {
      const failed = await h.call(POST, { input: { conversationId, body: 'lost with its event' } }, alice);
      expect(errorCodes(failed)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(failed.errors)).not.toMatch(/outbox|relation|SQL/i);
    } finally {
      await h.chat.deps.prisma.$executeRawUnsafe(
        'ALTER TABLE "chat"."outbox_events_away" RENAME TO "outbox_events"',
      );
    }
    const messages = await h.chat.deps.prisma.message.findMany({
      where: { conversationId },
      orderBy: { seq: 'asc' },
    });
    expect(messages.map((message) => message.body)).toEqual(['first']);
    expect(
      (await h.chat.deps.prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } })).lastSeq,
    ).toBe(1);

    const second = await post(h, alice, conversationId, 'second');
    expect(second.seq).toBe(2);
    const rows = await h.chat.deps.prisma.outboxEvent.findMany({
      where: { topic: ChatTopic.message, key: conversationId },
      orderBy: { seq: 'asc' },
    });
    expect(rows.map((row) => (row.payload as { payload: { body: string } }).payload.body)).toEqual([
      'first',
      'second',
    ]);
  });

  it('publishes ConversationCreated, ChatMessagePosted, ChatMessageEdited and ChatMessageDeleted through the relay, valid against their contracts', async () => {
    const received: Array<{ type: string; key: string; payload: any }> = [];
    const subscription = await h.bus.subscribe({
      groupId: `chat-events-${crypto.randomUUID()}`,
      topics: [ChatTopic.conversation, ChatTopic.message],
      fromBeginning: true,
      handler: async (record) => {
        const envelope = parseEnvelope(JSON.parse(record.value), chatRegistry) as {
          type: string;
          payload: unknown;
        };
        received.push({ type: envelope.type, key: record.key, payload: envelope.payload });
      },
    });
    try {
      const alice = userPrincipal();
      const conversationId = await createConversation(h, alice, [], { agentIds: ['coding-agent'] });
      const message = await post(h, alice, conversationId, '@agent please fix the flaky test');
      await h.call(
        `mutation($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
        { input: { messageId: message.id, body: 'please fix it' } },
        alice,
      );
      await h.call(`mutation($id: ID!) { deleteMessage(messageId: $id) { id } }`, { id: message.id }, alice);
      await expect
        .poll(() => received.filter((event) => event.key === conversationId).map((event) => event.type), {
          timeout: 10_000,
        })
        .toEqual(['ConversationCreated', 'ChatMessagePosted', 'ChatMessageEdited', 'ChatMessageDeleted']);
      const posted = received.find(
        (event) => event.type === 'ChatMessagePosted' && event.key === conversationId,
      )!;
      expect(posted.payload).toEqual({
        conversationId,
        messageId: message.id,
        seq: 1,
        author: { kind: 'USER', userId: alice.userId },
        body: '@agent please fix the flaky test',
        attachmentIds: [],
        agentParticipantIds: ['coding-agent'],
        userParticipantCount: 1,
        // The author's rights travel with the message: the agent acts with exactly these (README "The agent in chat").
        authorRights: { role: alice.role, scopes: [...alice.scopes] },
      });
    } finally {
      await subscription.close();
    }
  });
});

describe('domain events on Kafka', () => {
  it('reach the chat.message topic, keyed by conversation', async () => {
    const kafka = await startChatHarness({
      bus: new KafkaEventBus({ brokers: kafkaBrokersFromEnv(), clientId: 'chat-test' }),
      // Consumer groups are shared on the broker: this test's instance stays out of the agent-reply group, whose
      // owner (platform/tests/agentInChat.test.ts) may run at the same time.
      env: { AGENT_REPLIES_ENABLED: 'false' },
    });
    try {
      const alice = userPrincipal();
      const conversationId = await createConversation(kafka, alice);
      const message = await post(kafka, alice, conversationId, 'over kafka');
      const records = await consumeUntil({
        topics: [ChatTopic.message],
        until: (seen) => seen.some((record) => record.key === conversationId),
        timeoutMs: 30_000,
      });
      const record = records.find((candidate) => candidate.key === conversationId)!;
      expect(record.headers['event-type']).toBe('ChatMessagePosted');
      expect(ChatMessagePosted.parse(JSON.parse(record.value)).payload).toMatchObject({
        messageId: message.id,
        body: 'over kafka',
      });
    } finally {
      await kafka[Symbol.asyncDispose]();
    }
  });
});
