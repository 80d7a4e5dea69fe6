import { randomUUID } from 'node:crypto';
import { ChatMessagePosted, ChatRequestDeclined, TaskCreated, TaskProgressed } from '@cap/events';
import { MemoryEventBus, toBusRecord, type BusRecord } from '@cap/messaging';
import { scopesForRole, type Role } from '@cap/runtime';
import { createFixture, seededInts, type Fixture } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressedAgent, taskRequestFrom, withoutMention } from '../src/chat/chatRequest.js';
import { ChatProgressNotes, MAX_PROGRESS_NOTES } from '../src/chat/progressNotes.js';
import { REDACTED, Redactor } from '../src/domain/redaction.js';
import { startOrchestrationHarness, waitFor, type OrchestrationHarness, type Instance } from './harness.js';

/**
 * The ChatMessagePosted consumer on real PostgreSQL (no workers: created tasks stay QUEUED): which messages
 * address the agent, the task a message creates (once), the answer a reply gives, and the ChatRequestDeclined
 * replies for what the author may not or cannot do. Poison lands on `chat.message.dlq`.
 */
const AGENT = 'coding-agent';
let REPO: string;
let fixture: Fixture;
let cluster: OrchestrationHarness;
let node: Instance;
let bus: MemoryEventBus;

beforeAll(async () => {
  fixture = createFixture();
  REPO = fixture.origin;
  bus = new MemoryEventBus();
  cluster = await startOrchestrationHarness({
    bus,
    env: { WORKER_CONCURRENCY: '0', DEFAULT_STRATEGY: 'ITERATIVE' },
  });
  node = await cluster.start();
  await node.orchestration.chatConsumerReady;
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
  fixture?.remove();
});

function posted(options: {
  conversationId: string;
  body: string;
  userId?: string;
  role?: Role | null;
  agents?: string[];
  users?: number;
  author?: 'USER' | 'AGENT';
}) {
  const userId = options.userId ?? randomUUID();
  const role = options.role === undefined ? 'DEVELOPER' : options.role;
  return ChatMessagePosted.create(
    {
      conversationId: options.conversationId,
      messageId: randomUUID(),
      seq: 1,
      author: options.author === 'AGENT' ? { kind: 'AGENT', agentId: AGENT } : { kind: 'USER', userId },
      body: options.body,
      attachmentIds: [],
      agentParticipantIds: options.agents ?? [AGENT],
      userParticipantCount: options.users ?? 1,
      ...(role ? { authorRights: { role, scopes: [...scopesForRole(role)] } } : {}),
    },
    { source: 'chat', aggregateId: options.conversationId },
  );
}

const tasksOf = (conversationId: string) =>
  node.orchestration.deps.prisma.codingTask.findMany({
    where: { conversationId },
    orderBy: { createdAt: 'asc' },
  });

/** Events orchestration published (through its outbox) for a conversation, by type. */
function published(topic: string, conversationId: string): Array<{ type: string; payload: any }> {
  return bus
    .records(topic)
    .map((record: BusRecord) => JSON.parse(record.value))
    .filter((envelope) => envelope.payload.conversationId === conversationId);
}

async function declines(conversationId: string, count: number) {
  return waitFor(() => {
    const found = published(ChatRequestDeclined.topic, conversationId);
    return found.length >= count ? found.map((envelope) => envelope.payload) : undefined;
  });
}

describe('which messages address the agent', () => {
  it('holds for every generated message: only USER messages, only participating agents, mention first, else a direct conversation', () => {
    const slugs = [AGENT, 'reviewer-bot', 'ghost-agent'];
    const decorations = ['@%', ' @% ', '(@%)', 'x@%', '@%x', '@%-', '@%.', 'mail a@% ', '@%,', '@@%'];
    const next = seededInts(7);
    for (let round = 0; round < 2_000; round += 1) {
      const agents = slugs.filter(() => next(2) === 1);
      const users = 1 + next(3);
      const parts = Array.from({ length: next(4) }, () =>
        decorations[next(decorations.length)]!.replace('%', slugs[next(3)]!),
      );
      const body = `${parts.join(' ')} fix it`;
      const kind = next(5) === 0 ? 'AGENT' : 'USER';
      const result = addressedAgent({
        author: kind === 'AGENT' ? { kind, agentId: AGENT } : { kind, userId: randomUUID() },
        body,
        agentParticipantIds: agents,
        userParticipantCount: users,
      });
      if (kind === 'AGENT') {
        expect(result).toBeNull();
        continue;
      }
      // A mention is `@slug` standing alone: not inside a word, an address, or a longer slug.
      const mentioned = [...body.matchAll(/(?<![\w.@-])@([a-z0-9-]+)(?![\w-])/g)].map((match) => match[1]!);
      const first = mentioned.find((slug) => agents.includes(slug));
      if (first) expect(result).toEqual({ agentId: first, how: 'mention' });
      else if (agents.length === 1 && users === 1)
        expect(result).toEqual({ agentId: agents[0], how: 'direct' });
      else expect(result).toBeNull();
    }
  });

  it('reads the title, the repository line and the description, and stays linear on hostile text', () => {
    expect(
      taskRequestFrom(withoutMention(`@${AGENT} Fix the build\n\nRepo:  owner/name \nDetails`, AGENT)),
    ).toEqual({
      title: 'Fix the build',
      description: 'Fix the build\n\nRepo:  owner/name \nDetails',
      repository: 'owner/name',
    });
    expect(taskRequestFrom('repo: /a/b\n\n  First line  \nmore')).toMatchObject({
      title: 'First line',
      repository: '/a/b',
    });
    expect(taskRequestFrom('just text')).toMatchObject({ repository: null, title: 'just text' });
    expect(taskRequestFrom('x'.repeat(5_000)).title).toHaveLength(200);
    // Patterns that backtrack catastrophically on these would not return within the test's time.
    for (const hostile of [
      `repo:${' '.repeat(200_000)}x y`,
      `${'@'.repeat(200_000)}a`,
      `${'\n repo'.repeat(50_000)}:`,
    ]) {
      expect(typeof taskRequestFrom(hostile).title).toBe('string');
      expect(
        addressedAgent({
          author: { kind: 'USER', userId: randomUUID() },
          body: hostile,
          agentParticipantIds: [AGENT],
        }),
      ).toBeNull();
    }
  });
});

describe('the ChatMessagePosted consumer', () => {
  it('creates one task per message, linked to the conversation, on behalf of the author, even when redelivered', async () => {
    const conversationId = randomUUID();
    const author = randomUUID();
    const event = posted({ conversationId, userId: author, body: `Make the tests pass\nrepo: ${REPO}` });
    await bus.publish([toBusRecord(event), toBusRecord(event)]);
    // The same message again under a new event id (a replay): the message id already made its task.
    await bus.publish([
      toBusRecord(ChatMessagePosted.create(event.payload, { source: 'chat', aggregateId: conversationId })),
    ]);
    const [task] = await waitFor(async () => {
      const rows = await tasksOf(conversationId);
      return rows.length > 0 ? rows : undefined;
    });
    expect(task).toMatchObject({
      title: 'Make the tests pass',
      description: `Make the tests pass\nrepo: ${REPO}`,
      repository: REPO,
      creatorId: author,
      chatAgentId: AGENT,
      chatMessageId: event.payload.messageId,
      status: 'QUEUED',
    });
    const created = await waitFor(() => {
      const found = published(TaskCreated.topic, conversationId).filter(
        (envelope) => envelope.type === 'TaskCreated',
      );
      return found.length > 0 ? found : undefined;
    });
    expect(created.map((envelope) => envelope.payload)).toEqual([
      expect.objectContaining({ taskId: task!.id, conversationId, agentId: AGENT }),
    ]);

    // While it is queued, another message is declined (CONFLICT), not a second task.
    await bus.publish([toBusRecord(posted({ conversationId, userId: author, body: 'and this too' }))]);
    const [busy] = await declines(conversationId, 1);
    expect(busy).toMatchObject({ code: 'CONFLICT', taskId: task!.id, agentId: AGENT, requesterId: author });
    expect(await tasksOf(conversationId)).toHaveLength(1);
  });

  it('answers the open question from the creator only, like provideTaskInput', async () => {
    const conversationId = randomUUID();
    const creator = randomUUID();
    const other = randomUUID();
    // A group conversation (two users): only a mention addresses the agent.
    const group = (userId: string, body: string) => posted({ conversationId, userId, body, users: 2 });
    await bus.publish([toBusRecord(group(creator, `@${AGENT} Fix it\nrepo: ${REPO}`))]);
    const [task] = await waitFor(async () => {
      const rows = await tasksOf(conversationId);
      return rows.length > 0 ? rows : undefined;
    });
    // What a worker records when the agent asks (no workers run here): the task waits for its creator.
    const prisma = node.orchestration.deps.prisma;
    const execution = await prisma.taskExecution.findFirstOrThrow({ where: { taskId: task!.id } });
    await prisma.taskExecution.update({
      where: { id: execution.id },
      data: { status: 'AWAITING_INPUT', endedAt: new Date() },
    });
    await prisma.codingTask.update({
      where: { id: task!.id },
      data: { status: 'AWAITING_INPUT', version: { increment: 1 } },
    });
    await prisma.taskInput.create({
      data: { taskId: task!.id, executionId: execution.id, question: 'Add or multiply?' },
    });

    await bus.publish([
      toBusRecord(group(other, `@${AGENT} multiply`)),
      toBusRecord(group(creator, 'add, not addressed')),
    ]);
    const [refused] = await declines(conversationId, 1);
    expect(refused).toMatchObject({ code: 'FORBIDDEN', requesterId: other, taskId: task!.id });
    await bus.publish([toBusRecord(group(creator, `@${AGENT} add them`))]);
    const resumed = await waitFor(async () => {
      const row = await prisma.codingTask.findUniqueOrThrow({
        where: { id: task!.id },
        include: { inputs: true, executions: true },
      });
      return row.status === 'QUEUED' ? row : undefined;
    });
    expect(resumed.inputs).toEqual([expect.objectContaining({ answer: 'add them', answeredBy: creator })]);
    expect(resumed.executions.map((row) => row.attempt).sort()).toEqual([1, 2]);
    expect(published(ChatRequestDeclined.topic, conversationId)).toHaveLength(1);
  });

  it('declines, with the code the API would give, messages without rights, without tasks:write, or with bad input', async () => {
    const cases: Array<{ event: ReturnType<typeof posted>; code: string; text: RegExp }> = [
      {
        event: posted({ conversationId: randomUUID(), role: null, body: `Fix\nrepo: ${REPO}` }),
        code: 'FORBIDDEN',
        text: /no rights/,
      },
      {
        event: posted({ conversationId: randomUUID(), role: 'VIEWER', body: `Fix\nrepo: ${REPO}` }),
        code: 'FORBIDDEN',
        text: /tasks:write/,
      },
      {
        event: posted({ conversationId: randomUUID(), body: 'Fix it, no repository named' }),
        code: 'BAD_USER_INPUT',
        text: /repo: owner\/name/,
      },
      {
        event: posted({ conversationId: randomUUID(), body: 'Fix\nrepo: ../../etc' }),
        code: 'BAD_USER_INPUT',
        text: /repository/i,
      },
      {
        event: posted({ conversationId: randomUUID(), body: `repo: ${REPO}` }),
        code: 'BAD_USER_INPUT',
        text: /first line/,
      },
      {
        event: posted({ conversationId: randomUUID(), body: `Fix\nrepo: ${REPO}\n${'y'.repeat(30_000)}` }),
        code: 'BAD_USER_INPUT',
        text: /description/,
      },
    ];
    await bus.publish(cases.map((entry) => toBusRecord(entry.event)));
    for (const entry of cases) {
      const [declined] = await declines(entry.event.payload.conversationId, 1);
      expect(declined).toMatchObject({
        code: entry.code,
        messageId: entry.event.payload.messageId,
        taskId: null,
      });
      expect(declined!.message).toMatch(entry.text);
      expect(await tasksOf(entry.event.payload.conversationId)).toHaveLength(0);
    }
  });

  it('ignores agent-authored and unaddressed messages, and dead-letters poison without losing the rest', async () => {
    const conversationId = randomUUID();
    const good = posted({ conversationId, body: `Fix\nrepo: ${REPO}` });
    await bus.publish([
      toBusRecord(posted({ conversationId, author: 'AGENT', body: `@${AGENT} Fix\nrepo: ${REPO}` })),
      toBusRecord(posted({ conversationId, users: 2, body: `@ghost-agent Fix\nrepo: ${REPO}` })),
      { topic: ChatMessagePosted.topic, key: conversationId, value: '{"not":"an event"}', headers: {} },
      { ...toBusRecord(good), value: toBusRecord(good).value.replace('"USER"', '"ROBOT"') },
      toBusRecord(good),
    ]);
    await waitFor(async () => ((await tasksOf(conversationId)).length > 0 ? true : undefined));
    expect(await tasksOf(conversationId)).toHaveLength(1);
    const dead = bus
      .records(`${ChatMessagePosted.topic}.dlq`)
      .filter((record) => record.key === conversationId);
    expect(dead).toHaveLength(2);
    expect(published(ChatRequestDeclined.topic, conversationId)).toHaveLength(0);
  });
});

describe('progress notes', () => {
  it('records one redacted TaskProgressed per note of a task from chat, in order and at most MAX_PROGRESS_NOTES, and none for other tasks', async () => {
    const secret = 'sk-live-0123456789abcdefghijklmnop';
    const redactor = new Redactor();
    redactor.register(secret);
    const conversationId = randomUUID();
    const deps = node.orchestration.deps;
    const notes = new ChatProgressNotes(deps, {
      task: { id: randomUUID(), conversationId, chatAgentId: AGENT },
      executionId: randomUUID(),
      redactor,
    });
    const unlinked = new ChatProgressNotes(deps, {
      task: { id: randomUUID(), conversationId: null, chatAgentId: null },
      executionId: randomUUID(),
      redactor,
    });
    for (let step = 1; step <= MAX_PROGRESS_NOTES + 5; step += 1) {
      notes.note('coder', `Step ${step} done with ${secret}`);
      unlinked.note('agent', `Step ${step}`);
    }
    await Promise.all([notes.flush(), unlinked.flush()]);
    const recorded = await waitFor(() => {
      const found = published(TaskProgressed.topic, conversationId).filter(
        (envelope) => envelope.type === 'TaskProgressed',
      );
      return found.length >= MAX_PROGRESS_NOTES ? found : undefined;
    });
    expect(recorded.map((envelope) => envelope.payload.note)).toEqual(
      Array.from({ length: MAX_PROGRESS_NOTES }, (_, index) => `Step ${index + 1} done with ${REDACTED}`),
    );
    expect(
      recorded.every((envelope) => envelope.payload.agentId === AGENT && envelope.payload.role === 'coder'),
    ).toBe(true);
    expect(JSON.stringify(bus.records(TaskProgressed.topic))).not.toContain(secret);
    const total = await deps.prisma.outboxEvent.count({ where: { type: 'TaskProgressed' } });
    expect(total).toBe(MAX_PROGRESS_NOTES);
  });
});
