import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatMessagePosted, type Envelope } from '@cap/events';
import { KafkaEventBus, toBusRecord } from '@cap/messaging';
import { createLogger } from '@cap/runtime';
import {
  createTestDatabase,
  errorCodes,
  FakeModelServer,
  graphql,
  sandboxReachableFixture,
  consumeUntil,
  kafkaBrokersFromEnv,
  type Fixture,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startPlatform, type RunningPlatform } from '../src/index.js';
import { LOGIN, platformTestEnv } from './support/embeddedPlatform.js';

/**
 * The agent in chat, end to end on real PostgreSQL and Kafka in the one-process platform, driven through the
 * router as a client would: a developer writes to the coding agent in a conversation; the message travels as
 * ChatMessagePosted over Kafka to orchestration, which creates the task once; the agent (a scripted model on
 * loopback, a local git fixture) plans, asks a question that chat posts as the AGENT; the developer's reply in the
 * conversation resumes the task; the result with branch and diff stats arrives in the conversation. Then the
 * hostile cases: redelivered and replayed events, agent-authored events, strangers, huge bodies, unknown agents
 * and authors without `tasks:write`.
 */

const AGENT = 'coding-agent';
const QUESTION = 'Should sum() add its arguments or multiply them?';
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`;
const CREATE_CONVERSATION = `mutation($title: String!, $users: [ID!], $agents: [String!]) {
  createConversation(input: { title: $title, participantUserIds: $users, agentIds: $agents }) { id }
}`;
const POST = `mutation($input: PostMessageInput!) { postMessage(input: $input) { id seq } }`;
const MESSAGES = `query($id: ID!) { conversation(id: $id) { messages(first: 50) { edges { node { seq body author { kind agentId } } } } } }`;

type Message = { seq: number; body: string; author: { kind: string; agentId: string | null } };

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the agent in chat (platform on PostgreSQL and Kafka)', { timeout: 240_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-agent-chat-'));
  chmodSync(dataDir, 0o711);
  const brokers = kafkaBrokersFromEnv();
  let fixture: Fixture;
  let server: FakeModelServer;
  let platform: RunningPlatform;
  let dropDatabase: () => Promise<void> = async () => undefined;
  let url: string;
  let dev: Record<string, string>;
  let devId: string;
  let otherId: string;
  let admin: Record<string, string>;

  const call = async (query: string, variables: Record<string, unknown>, headers: Record<string, string>) => {
    const result = await graphql(url, query, variables, headers);
    expect(result.errors).toBeUndefined();
    return result.data!;
  };
  const conversation = async (headers: Record<string, string>, users: string[] = []) =>
    (await call(CREATE_CONVERSATION, { title: `Agent ${randomUUID()}`, users, agents: [AGENT] }, headers))[
      'createConversation'
    ].id as string;
  const post = async (headers: Record<string, string>, conversationId: string, body: string) =>
    (await call(POST, { input: { conversationId, body } }, headers))['postMessage'].id as string;
  const messages = async (conversationId: string): Promise<Message[]> =>
    (await call(MESSAGES, { id: conversationId }, dev))['conversation'].messages.edges
      .map((edge: { node: Message }) => edge.node)
      .reverse();
  const agentSaid = (conversationId: string, predicate: (body: string) => boolean, what: string) =>
    until(async () => {
      const found = (await messages(conversationId)).filter(
        (message) => message.author.kind === 'AGENT' && predicate(message.body),
      );
      return found.length > 0 ? found : undefined;
    }, what);
  const tasksOf = (conversationId: string) =>
    platform.orchestration.deps.prisma.codingTask.findMany({ where: { conversationId } });
  const publish = async (envelopes: Envelope[]) => {
    const bus = new KafkaEventBus({ brokers, clientId: `agent-chat-test-${randomUUID()}` });
    try {
      await bus.publish(envelopes.map((envelope) => toBusRecord(envelope)));
    } finally {
      await bus.close();
    }
  };

  beforeAll(async () => {
    // A root worker's sandboxes (uid/gid 65534) push through the origin's group, as the README describes.
    fixture = sandboxReachableFixture();
    server = await FakeModelServer.start('openai', [
      {
        toolCalls: [
          {
            name: 'submit_plan',
            arguments: { subtasks: [{ title: 'Fix sum', description: 'Make sum() right.' }] },
          },
        ],
      },
      { text: 'Reading it.', toolCalls: [{ name: 'read_file', arguments: { path: 'src/sum.js' } }] },
      { toolCalls: [{ name: 'ask_user', arguments: { question: QUESTION } }] },
      (request) => {
        expect(JSON.stringify(request.body['messages'])).toContain('The task creator answered: add them');
        return {
          toolCalls: [
            {
              name: 'edit_file',
              arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a + b;' },
            },
          ],
        };
      },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'sum() adds its arguments now' } }] },
      { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'approve' } }] },
    ]);
    const database = await createTestDatabase();
    dropDatabase = () => database.drop();
    const env = platformTestEnv(dataDir, {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: brokers.join(','),
      // No classifier runs here: tasks are queued at once with MULTI_AGENT, whose plan steps become notes.
      CLASSIFICATION_TIMEOUT_MS: '0',
      DEFAULT_STRATEGY: 'MULTI_AGENT',
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: 'sk-test-agent-chat-5c1e9a0d7b3f',
      AGENT_MODEL: 'gpt-4.1-mini',
    });
    const logger = createLogger({
      service: 'agent-chat-test',
      level: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    });
    platform = await startPlatform({ config: loadConfig(env), env, logger });
    await Promise.all([platform.orchestration.chatConsumerReady, platform.chat.agentRepliesReady]);
    url = platform.router.graphqlUrl;
    const bootstrap = platform.identity.bootstrappedAdmin!;
    const login = async (email: string, password: string) => ({
      authorization: `Bearer ${(await call(LOGIN, { e: email, p: password }, {}))['login'].accessToken as string}`,
    });
    admin = await login(bootstrap.email, bootstrap.password);
    const email = `dev-${randomUUID()}@example.com`;
    devId = (
      await call(
        CREATE_USER,
        { input: { email, password: 'a long dev password', displayName: 'Dev', role: 'DEVELOPER' } },
        admin,
      )
    )['createUser'].id as string;
    dev = await login(email, 'a long dev password');
    otherId = (
      await call(
        CREATE_USER,
        {
          input: {
            email: `other-${randomUUID()}@example.com`,
            password: 'another long password',
            displayName: 'Other',
            role: 'DEVELOPER',
          },
        },
        admin,
      )
    )['createUser'].id as string;
  }, 180_000);

  afterAll(async () => {
    await platform?.close();
    await server?.close();
    await dropDatabase();
    fixture?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the task once, posts its plan and question as the agent, resumes on the reply and posts the result', async () => {
    const id = await conversation(dev);
    const first = await post(dev, id, `Make the failing sum test pass\nrepo: ${fixture.origin}`);

    const [ack] = await agentSaid(id, (body) => body.startsWith('On it:'), 'the acknowledgement');
    expect(ack!.author.agentId).toBe(AGENT);
    expect(ack!.body).toContain('Make the failing sum test pass');
    const [question] = await agentSaid(id, (body) => body.includes(QUESTION), 'the question');
    expect(question!.body).toMatch(/^Question: /);
    const [task] = await tasksOf(id);
    expect(task).toMatchObject({
      status: 'AWAITING_INPUT',
      chatAgentId: AGENT,
      chatMessageId: first,
      creatorId: devId,
    });
    expect(
      (await messages(id)).some((message) => message.body.startsWith('(planner) Plan: 1. Fix sum')),
    ).toBe(true);

    await post(dev, id, 'add them');
    const [done] = await agentSaid(id, (body) => body.startsWith('Done'), 'the result');
    const branch = `agent/${task!.id.replaceAll('-', '').slice(0, 8)}`;
    expect(done!.body).toContain(`Branch: \`${branch}\``);
    expect(done!.body).toContain('Changes: 1 file, +1 −1');
    expect(done!.body).toContain('sum() adds its arguments now');
    expect(done!.body).toMatch(/Cost: \$\d/);
    expect(fixture.show(branch, 'src/sum.js')).toContain('return a + b;');
    server.assertDone();
    const all = await messages(id);
    expect(all.some((message) => message.body.includes('Step 1 of 1 done: Fix sum'))).toBe(true);
    for (const start of ['On it:', 'Question:', 'Done']) {
      expect(all.filter((message) => message.body.startsWith(start))).toHaveLength(1);
    }
    expect((await tasksOf(id)).map((row) => row.status)).toEqual(['SUCCEEDED']);

    // Redelivery of the very event, a replay of the same message under a new event id, and an AGENT-authored
    // message addressing the agent: none creates a task or posts anything. The marker behind them (same
    // conversation, so the same partition, handled in order) proves they were consumed.
    const seen = await consumeUntil({
      brokers,
      topics: [ChatMessagePosted.topic],
      until: (records) => records.some((record) => record.value.includes(first)),
    });
    const record = seen.find((candidate) => candidate.value.includes(first))!;
    // The very record (same event id): to the consumer, a redelivery.
    const original = ChatMessagePosted.parse(JSON.parse(record.value));
    await publish([
      original,
      ChatMessagePosted.create(original.payload, { source: 'chat', aggregateId: id }),
      ChatMessagePosted.create(
        {
          ...original.payload,
          messageId: randomUUID(),
          author: { kind: 'AGENT', agentId: AGENT },
          authorRights: undefined,
        },
        { source: 'chat', aggregateId: id },
      ),
    ]);
    await post(dev, id, 'and now?');
    await agentSaid(
      id,
      (body) => body.startsWith('I did not start anything (BAD_USER_INPUT)'),
      'the marker reply',
    );
    expect(await tasksOf(id)).toHaveLength(1);
    expect((await messages(id)).filter((message) => message.body.startsWith('On it:'))).toHaveLength(1);
  });

  it('refuses a stranger, a huge request, an unknown agent and an author without tasks:write, each with a clear reply', async () => {
    // A user who does not take part cannot post at all: no event, no task.
    const own = await conversation(dev);
    const stranger = await graphql(
      url,
      POST,
      { input: { conversationId: own, body: `@${AGENT} go\nrepo: /tmp` } },
      admin,
    );
    expect(errorCodes(stranger)).toEqual([expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/)]);

    // A body longer than a task description may be: declined, naming the field.
    await post(dev, own, `Fix it\nrepo: ${fixture.origin}\n${'x'.repeat(25_000)}`);
    const [huge] = await agentSaid(own, (body) => body.includes('BAD_USER_INPUT'), 'the huge-body reply');
    expect(huge!.body).toMatch(/description/i);

    // A group conversation: only a mention of a participating agent addresses it; @ghost-agent addresses nobody.
    const group = await conversation(dev, [otherId]);
    await post(dev, group, `@ghost-agent please fix it\nrepo: ${fixture.origin}`);
    await post(dev, group, 'no mention at all');
    await post(dev, group, `@${AGENT} hello`);
    await agentSaid(group, (body) => body.includes('`repo: owner/name`'), 'the reply to the mention');
    const agentMessages = (await messages(group)).filter((message) => message.author.kind === 'AGENT');
    expect(agentMessages).toHaveLength(1);
    expect(await tasksOf(group)).toHaveLength(0);

    // An API key with chat scopes only: the agent acts with the author's rights, so it creates nothing.
    const key = (
      await call(CREATE_KEY, { input: { name: 'chat only', scopes: ['chat:read', 'chat:write'] } }, dev)
    )['createApiKey'].secret as string;
    const direct = await conversation(dev);
    await post({ 'x-api-key': key }, direct, `Fix it\nrepo: ${fixture.origin}`);
    const [forbidden] = await agentSaid(direct, (body) => body.includes('FORBIDDEN'), 'the FORBIDDEN reply');
    expect(forbidden!.body).toContain('tasks:write');
    expect(await tasksOf(direct)).toHaveLength(0);
  });
});
