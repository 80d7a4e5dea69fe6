import { randomUUID } from 'node:crypto';
import { ANONYMOUS, type Principal } from '@cap/runtime';
import { errorCodes, userPrincipal, collectSubscription } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATE_TASK,
  startOrchestrationHarness,
  waitFor,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// Calls with a valid router token, as if the router had let them through: the subgraph itself enforces the
// directives declared in its schema (ADR 0007). An API-only instance (no workers).
let cluster: OrchestrationHarness;
let api: Instance;
beforeAll(async () => {
  cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '0' } });
  api = await cluster.start();
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

describe('orchestration enforces its schema directives', () => {
  it('refuses createTask (tasks:write) to a VIEWER with FORBIDDEN naming the declaration, and creates nothing', async () => {
    const result = await api.call(
      CREATE_TASK,
      { input: { title: 'not mine to ask', strategy: 'SINGLE_SHOT' } },
      userPrincipal('VIEWER'),
    );
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      requirement: 'Mutation.createTask',
      requiredScope: 'tasks:write',
    });
    expect(
      await api.orchestration.deps.prisma.codingTask.count({ where: { title: 'not mine to ask' } }),
    ).toBe(0);
  });

  it('refuses cancelTask to a VIEWER before the task is even looked up (FORBIDDEN, not NOT_FOUND)', async () => {
    const result = await api.call(
      `mutation($id: ID!) { cancelTask(id: $id) { id } }`,
      { id: randomUUID() },
      userPrincipal('VIEWER'),
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requirement: 'Mutation.cancelTask',
    });
  });

  it('refuses task reads to anonymous callers with UNAUTHENTICATED, and serves VIEWERs', async () => {
    const anonymous = await api.call(`{ tasks { edges { node { id } } } }`, {}, ANONYMOUS);
    expect(anonymous.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      requirement: 'Query.tasks',
    });
    expect(
      (await api.call(`{ tasks { edges { node { id } } } }`, {}, userPrincipal('VIEWER'))).errors,
    ).toBeUndefined();
  });

  it('refuses a subscription at its start over graphql-ws to anonymous callers', async () => {
    const subscription = collectSubscription(
      api.wsClient(ANONYMOUS),
      `subscription { tasksChanged { task { id } } }`,
      {},
      'tasksChanged',
    );
    try {
      const errors = await waitFor(() => (subscription.errors.length > 0 ? subscription.errors : undefined));
      expect(JSON.stringify(errors)).toContain('UNAUTHENTICATED');
      expect(JSON.stringify(errors)).toContain('Subscription.tasksChanged');
    } finally {
      subscription.stop();
    }
  });

  // The resolvers of these fields no longer repeat the scope check: the directive alone refuses, for every field.
  // An API key of a DEVELOPER that was given chat scopes only, so ownership would allow the task mutations.
  const ownerId = randomUUID();
  const chatOnlyKey: Principal = {
    kind: 'apiKey',
    userId: ownerId,
    apiKeyId: randomUUID(),
    role: 'DEVELOPER',
    scopes: ['chat:read', 'chat:write'],
    tier: 'FREE',
  };
  const taskOperations: Array<{ requirement: string; operation: string; field: string; scope: string }> = [
    {
      requirement: 'Query.task',
      field: 'task',
      scope: 'tasks:read',
      operation: `query($id: ID!) { task(id: $id) { id title } }`,
    },
    {
      requirement: 'Query.tasks',
      field: 'tasks',
      scope: 'tasks:read',
      operation: `query { tasks { edges { node { id } } } }`,
    },
    {
      requirement: 'Query.taskLogs',
      field: 'taskLogs',
      scope: 'tasks:read',
      operation: `query($id: ID!) { taskLogs(taskId: $id) { edges { node { seq } } } }`,
    },
    {
      requirement: 'Mutation.cancelTask',
      field: 'cancelTask',
      scope: 'tasks:write',
      operation: `mutation($id: ID!) { cancelTask(id: $id) { id status } }`,
    },
    {
      requirement: 'Mutation.retryTask',
      field: 'retryTask',
      scope: 'tasks:write',
      operation: `mutation($id: ID!) { retryTask(id: $id) { id } }`,
    },
    {
      requirement: 'Mutation.provideTaskInput',
      field: 'provideTaskInput',
      scope: 'tasks:write',
      operation: `mutation($id: ID!) { provideTaskInput(input: { taskId: $id, answer: "yes" }) { id } }`,
    },
  ];

  it('refuses every task field to an under-scoped API key calling the subgraph directly (FORBIDDEN), and changes nothing', async () => {
    const created = await api.call<{ createTask: { id: string } }>(
      CREATE_TASK,
      { input: { title: 'owned by the key holder', strategy: 'SINGLE_SHOT' } },
      userPrincipal('DEVELOPER', ownerId),
    );
    const id = created.data!.createTask.id;
    for (const { requirement, operation, field, scope } of taskOperations) {
      const result = await api.call(operation, { id }, chatOnlyKey);
      expect(errorCodes(result), requirement).toEqual(['FORBIDDEN']);
      expect(result.errors?.[0]?.extensions, requirement).toMatchObject({
        requirement,
        requiredScope: scope,
      });
      expect(result.data?.[field] ?? null, requirement).toBeNull();
    }
    const task = await api.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } });
    expect(task.status).toBe('QUEUED');
    expect(task.attempts).toBe(1);
  });

  it('refuses every task subscription at its start to an under-scoped API key (FORBIDDEN)', async () => {
    const created = await api.call<{ createTask: { id: string } }>(
      CREATE_TASK,
      { input: { title: 'watched by the key holder', strategy: 'SINGLE_SHOT' } },
      userPrincipal('DEVELOPER', ownerId),
    );
    const id = created.data!.createTask.id;
    const subscriptions = [
      {
        requirement: 'Subscription.taskLogs',
        query: `subscription($id: ID!) { taskLogs(taskId: $id) { seq } }`,
      },
      {
        requirement: 'Subscription.taskUpdated',
        query: `subscription($id: ID!) { taskUpdated(taskId: $id) { id } }`,
      },
      { requirement: 'Subscription.tasksChanged', query: `subscription { tasksChanged { task { id } } }` },
    ];
    for (const { requirement, query } of subscriptions) {
      const field = requirement.split('.')[1]!;
      const subscription = collectSubscription(api.wsClient(chatOnlyKey), query, { id }, field);
      try {
        const errors = await waitFor(() =>
          subscription.errors.length > 0 ? subscription.errors : undefined,
        );
        expect(JSON.stringify(errors), requirement).toContain('FORBIDDEN');
        expect(JSON.stringify(errors), requirement).toContain(requirement);
        expect(subscription.events, requirement).toEqual([]);
      } finally {
        subscription.stop();
      }
    }
  });
});
