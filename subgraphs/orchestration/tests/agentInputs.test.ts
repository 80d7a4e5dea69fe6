import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationTooLargeError, PrismaConversationStore } from '../src/execution/conversationStore.js';
import { BUDGET_CAPS } from '../src/domain/validation.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

let cluster: OrchestrationHarness;
let node: Instance;
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  // No workers: these tests read what createTask stored.
  cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '0' } });
  node = await cluster.start();
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const CREATE = `mutation($input: CreateTaskInput!) {
  createTask(input: $input) { id verifyCommand setupCommand allowNetwork budgets { tokens usd toolCalls wallTimeSeconds } }
}`;

describe("the agent's task inputs", () => {
  it('stores verifyCommand, setupCommand, allowNetwork and budgets, and shows commands redacted', async () => {
    const result = await node.call(
      CREATE,
      {
        input: {
          title: 'With agent settings',
          verifyCommand: 'npm test -- --token=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
          setupCommand: 'npm ci',
          allowNetwork: true,
          budgets: { tokens: 5_000, usd: 0.5, toolCalls: 12, wallTimeSeconds: 90 },
        },
      },
      alice,
    );
    expect(result.errors).toBeUndefined();
    const task = result.data!['createTask'];
    expect(task).toMatchObject({
      setupCommand: 'npm ci',
      allowNetwork: true,
      budgets: { tokens: 5_000, usd: 0.5, toolCalls: 12, wallTimeSeconds: 90 },
    });
    expect(task.verifyCommand).not.toContain('ghp_0123456789');
    const stored = await node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({
      where: { id: task.id },
    });
    // Stored in the agent's own unit.
    expect(stored.budgets).toEqual({ tokens: 5_000, usd: 0.5, toolCalls: 12, wallTimeMs: 90_000 });
    const plain = await createTaskVia(node, alice, { title: 'Defaults' });
    expect(
      await node.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id: plain } }),
    ).toMatchObject({ budgets: null, allowNetwork: false, verifyCommand: null });
  });

  it('refuses every budget outside its range with BAD_USER_INPUT naming the field, and accepts every value inside', async () => {
    const cases: Array<[string, number, boolean]> = [];
    for (const [field, cap] of [
      ['tokens', BUDGET_CAPS.tokens],
      ['toolCalls', BUDGET_CAPS.toolCalls],
      ['wallTimeSeconds', BUDGET_CAPS.wallTimeSeconds],
      ['usd', BUDGET_CAPS.usd],
    ] as const) {
      for (const value of [-1, 0, 1, Math.floor(cap / 2), cap, cap + 1])
        cases.push([field, value, value >= 1 && value <= cap]);
    }
    cases.push(['usd', 0.01, true], ['usd', BUDGET_CAPS.usd + 0.5, false]);
    for (const [field, value, valid] of cases) {
      const result = await node.call(
        CREATE,
        { input: { title: 'Budget', budgets: { [field]: value } } },
        alice,
      );
      if (valid) expect(result.errors, `${field}=${value}`).toBeUndefined();
      else {
        expect(errorCodes(result), `${field}=${value}`).toEqual(['BAD_USER_INPUT']);
        expect(result.errors![0]!.extensions).toMatchObject({ field: `budgets.${field}` });
      }
    }
  });

  it('refuses over-long or control-character agent commands', async () => {
    for (const [field, value] of [
      ['verifyCommand', 'x'.repeat(10_001)],
      ['setupCommand', 'npm ci\u0000'],
    ] as const) {
      const result = await node.call(CREATE, { input: { title: 'Bad command', [field]: value } }, alice);
      expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0]!.extensions).toMatchObject({ field });
    }
  });
});

describe('the PostgreSQL conversation store', () => {
  it('round-trips a conversation holding NUL and other control characters, replaces it, and deletes it', async () => {
    const store = new PrismaConversationStore(node.orchestration.deps.prisma, { maxBytes: 100_000 });
    const id = await createTaskVia(node, alice, { title: 'Conversation' });
    const state = {
      messages: [{ role: 'tool', content: 'binary \u0000 output \u0001\u001b[31m' }],
      spent: { tokensIn: 3 },
    };
    await store.save(id, state);
    expect(await store.load(id)).toEqual(state);
    await store.save(id, { messages: [] });
    expect(await store.load(id)).toEqual({ messages: [] });
    await store.delete(id);
    expect(await store.load(id)).toBeNull();
    await store.delete(id);
  });

  it('refuses a conversation over the cap and keeps the previous one', async () => {
    const store = new PrismaConversationStore(node.orchestration.deps.prisma, { maxBytes: 1_024 });
    const id = await createTaskVia(node, alice, { title: 'Large conversation' });
    await store.save(id, { small: true });
    // Multi-byte characters: the cap is on bytes, not characters.
    await expect(store.save(id, { text: 'é'.repeat(600) })).rejects.toBeInstanceOf(ConversationTooLargeError);
    expect(await store.load(id)).toEqual({ small: true });
  });
});
