import { randomUUID } from 'node:crypto';
import { ANONYMOUS } from '@cap/runtime';
import { errorCodes } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, CREATE_TASK, startCluster, user, waitFor, type Cluster, type Instance } from './harness.js';

// Calls with a valid router token, as if the router had let them through: the subgraph itself enforces the
// directives declared in its schema (ADR 0007). An API-only instance (no workers).
let cluster: Cluster;
let api: Instance;
beforeAll(async () => {
  cluster = await startCluster({ env: { WORKER_CONCURRENCY: '0' } });
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
      user('VIEWER'),
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
      user('VIEWER'),
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
      (await api.call(`{ tasks { edges { node { id } } } }`, {}, user('VIEWER'))).errors,
    ).toBeUndefined();
  });

  it('refuses a subscription at its start over graphql-ws to anonymous callers', async () => {
    const subscription = collect(
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
      subscription.dispose();
    }
  });
});
