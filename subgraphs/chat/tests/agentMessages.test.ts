import { randomUUID } from 'node:crypto';
import {
  ChatRequestDeclined,
  TaskCompleted,
  TaskCreated,
  TaskInputRequested,
  TaskLogAppended,
  TaskProgressed,
} from '@cap/events';
import { MemoryEventBus, toBusRecord } from '@cap/messaging';
import { seededInts, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBody } from '../src/domain/agentMessages.js';
import { createConversation, POST, startChatHarness, type ChatHarness } from './harness.js';

/**
 * The agent's messages: posted from orchestration's events by chat's own consumer (once per event, as the AGENT,
 * only into conversations the agent takes part in), never by a client.
 */
const AGENT = 'coding-agent';
let h: ChatHarness;
let bus: MemoryEventBus;
const alice = userPrincipal();

beforeAll(async () => {
  bus = new MemoryEventBus();
  h = await startChatHarness({ bus, redis: false });
  await h.chat.agentRepliesReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const source = { source: 'orchestration' } as const;

async function agentMessages(conversationId: string) {
  return h.chat.deps.prisma.message.findMany({
    where: { conversationId, authorKind: 'AGENT' },
    orderBy: { seq: 'asc' },
  });
}

describe('agent messages', () => {
  it('posts the question, progress and result once each as the agent, however often the events arrive', async () => {
    const conversationId = await createConversation(h, alice, [], { agentIds: [AGENT] });
    const taskId = randomUUID();
    const executionId = randomUUID();
    const link = { conversationId, agentId: AGENT };
    const events = [
      TaskCreated.create(
        {
          taskId,
          title: 'Fix sum',
          description: 'Fix sum',
          repository: 'owner/name',
          creatorId: alice.userId,
          priority: 'NORMAL',
          strategyOverride: null,
          status: 'QUEUED',
          ...link,
        },
        { ...source, aggregateId: taskId },
      ),
      TaskProgressed.create(
        { taskId, executionId, role: 'planner', note: 'Plan: 1. Fix sum', ...link },
        { ...source, aggregateId: taskId },
      ),
      TaskInputRequested.create(
        { taskId, executionId, inputId: randomUUID(), question: 'Add or multiply?', ...link },
        { ...source, aggregateId: taskId },
      ),
      // Not chat's business: no message.
      TaskLogAppended.create(
        { taskId, executionId, fromSeq: 1, toSeq: 2, count: 2, warnings: 0, errors: 0 },
        { ...source, aggregateId: taskId },
      ),
      TaskCompleted.create(
        {
          taskId,
          executionId,
          attempt: 2,
          summary: 'sum() adds',
          changedFiles: 1,
          pullRequestUrl: null,
          durationMs: 1_000,
          branch: 'agent/abcdef12',
          commitSha: '0123456789abcdef0123',
          diffStats: { filesChanged: 1, additions: 1, deletions: 1 },
          costUsd: 0.0123,
          ...link,
        },
        { ...source, aggregateId: taskId },
      ),
    ];
    await bus.publish(events.map((envelope) => toBusRecord(envelope)));
    await bus.publish(events.map((envelope) => toBusRecord(envelope)));
    const bodies = await waitFor(async () => {
      const rows = await agentMessages(conversationId);
      return rows.length >= 4 ? rows : undefined;
    });
    expect(bodies.map((row) => [row.authorAgentId, row.authorUserId, row.body])).toEqual([
      [AGENT, null, expect.stringMatching(/^On it: \*\*Fix sum\*\* \(task `[0-9a-f]{8}` on `owner\/name`\)/)],
      [AGENT, null, '(planner) Plan: 1. Fix sum'],
      [AGENT, null, expect.stringMatching(/^Question: Add or multiply\?/)],
      [
        AGENT,
        null,
        expect.stringContaining(
          '- Branch: `agent/abcdef12` (commit `0123456789ab`)\n- Changes: 1 file, +1 −1',
        ),
      ],
    ]);
    expect(bodies.at(-1)!.body).toContain('Cost: $0.01');
    // A later marker shows the duplicates were consumed (same key, same partition) and posted nothing.
    await bus.publish([
      toBusRecord(
        ChatRequestDeclined.create(
          {
            conversationId,
            messageId: randomUUID(),
            agentId: AGENT,
            requesterId: alice.userId,
            code: 'FORBIDDEN',
            message: 'This operation requires the tasks:write scope.',
            taskId: null,
          },
          { ...source, aggregateId: conversationId },
        ),
      ),
    ]);
    const after = await waitFor(async () => {
      const rows = await agentMessages(conversationId);
      return rows.length >= 5 ? rows : undefined;
    });
    expect(after).toHaveLength(5);
    expect(after.at(-1)!.body).toBe(
      'I did not start anything (FORBIDDEN): This operation requires the tasks:write scope.',
    );
    // Seqs stay gap-free, shared with users' messages.
    const all = await h.chat.deps.prisma.message.findMany({
      where: { conversationId },
      orderBy: { seq: 'asc' },
    });
    expect(all.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('posts nothing where the agent does not take part, or for tasks not created in chat', async () => {
    const without = await createConversation(h, alice);
    const marker = await createConversation(h, alice, [], { agentIds: [AGENT] });
    const taskId = randomUUID();
    const progress = (conversationId?: string, agentId?: string) =>
      toBusRecord(
        TaskProgressed.create(
          {
            taskId,
            executionId: randomUUID(),
            role: 'agent',
            note: 'Checks pass.',
            ...(conversationId ? { conversationId } : {}),
            ...(agentId ? { agentId } : {}),
          },
          { ...source, aggregateId: taskId },
        ),
      );
    await bus.publish([
      progress(without, AGENT),
      progress(randomUUID(), AGENT),
      progress(marker, 'reviewer-bot'),
      progress(),
      progress(marker, AGENT),
    ]);
    const [posted] = await waitFor(async () => {
      const rows = await agentMessages(marker);
      return rows.length > 0 ? rows : undefined;
    });
    expect(posted!.body).toBe('Checks pass.');
    expect(await agentMessages(without)).toHaveLength(0);
    expect(await agentMessages(marker)).toHaveLength(1);
    expect(bus.records(`${TaskProgressed.topic}.dlq`)).toHaveLength(0);
  });

  it('gives no client a way to post as the agent', async () => {
    const conversationId = await createConversation(h, alice, [], { agentIds: [AGENT] });
    for (const extra of [
      { agentId: AGENT },
      { author: { kind: 'AGENT', agentId: AGENT } },
      { authorKind: 'AGENT' },
    ]) {
      const result = await h.call(POST, { input: { conversationId, body: 'hi', ...extra } }, alice);
      expect(result.errors?.[0]?.extensions?.['code']).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    }
    expect(await agentMessages(conversationId)).toHaveLength(0);
  });

  it('makes every generated body storable: no control characters, well-formed, within the limit, never blank', () => {
    const next = seededInts(11);
    const alphabet = [
      'a',
      ' ',
      '\n',
      '\r',
      '\t',
      '\u0000',
      '\u001b',
      '\u007f',
      '\u0085',
      'é',
      '😀',
      '\ud800',
      '\udc00',
      '界',
    ];
    for (let round = 0; round < 1_000; round += 1) {
      const text = Array.from({ length: next(3_000) }, () => alphabet[next(alphabet.length)]).join('');
      const max = 1_024 + next(4_000);
      const body = agentBody(text, max);
      expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(max);
      expect(body.trim().length).toBeGreaterThan(0);
      // eslint-disable-next-line no-control-regex
      expect(body).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/);
      expect(body).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });
});
