import { randomUUID } from 'node:crypto';
import type { Principal } from '@cap/runtime';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskVia,
  startOrchestrationHarness,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// One API-only instance (no workers): tasks stay where the API puts them. The `tasks` connection: keyset pages
// in every order, forwards and backwards, and its filters.
let cluster: OrchestrationHarness;
let api: Instance;
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness({
    env: { WORKER_CONCURRENCY: '0', CLASSIFICATION_TIMEOUT_MS: '60000' },
  });
  api = await cluster.start();
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

describe('listing tasks', () => {
  let owner: Principal & { userId: string };
  let ids: string[];
  beforeAll(async () => {
    owner = userPrincipal('DEVELOPER');
    ids = [];
    const priorities = ['LOW', 'URGENT', 'NORMAL', 'HIGH', 'NORMAL', 'LOW', 'URGENT'];
    for (const [index, priority] of priorities.entries()) {
      ids.push(
        await createTaskVia(api, owner, {
          title: `List ${index}`,
          priority,
          repository: index % 2 === 0 ? 'acme/even' : 'acme/odd',
        }),
      );
    }
    await api.call(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: ids[3] }, owner);
  });

  async function page(variables: Record<string, unknown>): Promise<{
    ids: string[];
    endCursor: string;
    startCursor: string;
    hasNextPage: boolean;
    hasPreviousPage: boolean;
  }> {
    const result = await api.call(
      `query($first: Int, $after: String, $last: Int, $before: String, $filter: TaskFilter, $orderBy: TaskOrder) {
        tasks(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
          edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }`,
      { filter: { creatorId: owner.userId }, ...variables },
      viewer,
    );
    expect(result.errors).toBeUndefined();
    const connection = result.data!['tasks'];
    return {
      ids: connection.edges.map((edge: { node: { id: string } }) => edge.node.id),
      ...connection.pageInfo,
    };
  }

  it('pages newest first by default, forwards and backwards, without gaps or repeats', async () => {
    const newestFirst = [...ids].reverse();
    const seen: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i += 1) {
      const current = await page({ first: 3, after });
      seen.push(...current.ids);
      if (!current.hasNextPage) break;
      after = current.endCursor;
    }
    expect(seen).toEqual(newestFirst);
    const last = await page({ last: 2 });
    expect(last.ids).toEqual(newestFirst.slice(-2));
    const before = await page({ last: 2, before: last.startCursor });
    expect(before.ids).toEqual(newestFirst.slice(-4, -2));
  });

  it('sorts by priority (URGENT first, then newest) and by creation ascending', async () => {
    const byPriority: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i += 1) {
      const current = await page({ first: 2, after, orderBy: { field: 'PRIORITY', direction: 'DESC' } });
      byPriority.push(...current.ids);
      if (!current.hasNextPage) break;
      after = current.endCursor;
    }
    const rank = { URGENT: 3, HIGH: 2, NORMAL: 1, LOW: 0 } as Record<string, number>;
    const priorities = ['LOW', 'URGENT', 'NORMAL', 'HIGH', 'NORMAL', 'LOW', 'URGENT'];
    const expected = ids
      .map((id, index) => ({ id, index, rank: rank[priorities[index]!]! }))
      .sort((a, b) => b.rank - a.rank || b.index - a.index)
      .map((entry) => entry.id);
    expect(byPriority).toEqual(expected);
    expect((await page({ first: 20, orderBy: { field: 'CREATED_AT', direction: 'ASC' } })).ids).toEqual(ids);
    // A cursor of one order is refused in another.
    const cursor = (await page({ first: 1 })).endCursor;
    expect(
      errorCodes(
        await api.call(
          'query($a: String) { tasks(first: 1, after: $a, orderBy: { field: PRIORITY, direction: ASC }) { edges { cursor } } }',
          { a: cursor },
          viewer,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
  });

  it('filters by status, repository, creator and creation time', async () => {
    expect(
      (await page({ first: 20, filter: { creatorId: owner.userId, status: ['CANCELLED'] } })).ids,
    ).toEqual([ids[3]]);
    expect(
      (await page({ first: 20, filter: { creatorId: owner.userId, repository: 'acme/odd' } })).ids,
    ).toEqual([ids[5], ids[3], ids[1]]);
    expect((await page({ first: 20, filter: { creatorId: randomUUID() } })).ids).toEqual([]);
    const tasks = await api.orchestration.deps.prisma.codingTask.findMany({
      where: { id: { in: ids } },
      orderBy: { createdAt: 'asc' },
    });
    const from = tasks[2]!.createdAt;
    const to = tasks[5]!.createdAt;
    const ranged = await page({
      first: 20,
      filter: { creatorId: owner.userId, createdAfter: from.toISOString(), createdBefore: to.toISOString() },
    });
    expect(ranged.ids).toEqual(
      tasks
        .filter((task) => task.createdAt >= from && task.createdAt < to)
        .map((task) => task.id)
        .reverse(),
    );
  });
});
