import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPrincipal } from '@cap/testkit';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// N+1 guard: listing tasks with their creator, executions, results (and verifications) and inputs costs the same
// number of SQL statements for 5 tasks as for 50.
let cluster: OrchestrationHarness;
let reader: Instance;
let ids: string[];
const alice = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  const worker = await cluster.start({ WORKER_CONCURRENCY: '3' });
  ids = [];
  for (let n = 0; n < 50; n += 1)
    ids.push(
      await createTaskVia(worker, alice, { title: `Task ${n}`, command: n % 5 === 0 ? 'exit 1' : 'true' }),
    );
  const { prisma } = worker.orchestration.deps;
  await waitFor(
    async () =>
      (await prisma.codingTask.count({ where: { status: { in: ['SUCCEEDED', 'FAILED'] } } })) === 50,
    {
      timeoutMs: 40_000,
      message: '50 tasks finished',
    },
  );
  await cluster.stop(worker);
  // A quiet reader: no workers, and no background polling while statements are counted.
  reader = await cluster.start({
    WORKER_CONCURRENCY: '0',
    SWEEP_INTERVAL_MS: '600000',
    OUTBOX_POLL_INTERVAL_MS: '600000',
  });
}, 90_000);
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const LIST = /* GraphQL */ `
  query ($first: Int!) {
    tasks(first: $first) {
      edges {
        node {
          id
          status
          creator {
            id
          }
          executions {
            attempt
            status
            result {
              summary
              exitCode
              changedFiles
              diffStats {
                additions
              }
              error {
                code
              }
            }
            task {
              id
            }
          }
          latestExecution {
            attempt
          }
          result {
            summary
            verification {
              passed
            }
          }
          verification {
            passed
            command
          }
          inputRequest {
            question
          }
          inputs {
            question
            answer
          }
        }
      }
    }
  }
`;

async function statementsFor(
  query: string,
  variables: Record<string, unknown>,
): Promise<{ count: number; data: any }> {
  const before = reader.orchestration.statements.count;
  const result = await reader.call(query, variables, viewer);
  expect(result.errors).toBeUndefined();
  return { count: reader.orchestration.statements.count - before, data: result.data };
}

describe('SQL statements per list', () => {
  it('does not grow with the number of tasks listed (5 vs 50, with executions, results and inputs)', async () => {
    await statementsFor(LIST, { first: 1 }); // warm-up
    const five = await statementsFor(LIST, { first: 5 });
    const fifty = await statementsFor(LIST, { first: 50 });
    expect(five.data.tasks.edges).toHaveLength(5);
    expect(fifty.data.tasks.edges).toHaveLength(50);
    expect(
      fifty.data.tasks.edges.every(
        (edge: any) => edge.node.executions.length === 1 && edge.node.executions[0].result !== null,
      ),
    ).toBe(true);
    // The counter does count (a vacuous 0 = 0 would prove nothing): tasks, executions, results, inputs at least.
    expect(five.count).toBeGreaterThanOrEqual(4);
    expect(fifty.count).toBe(five.count);
    // tasks, executions, results, inputs; execution.task is served by the task loader's cache or one batch.
    expect(fifty.count).toBeLessThanOrEqual(5);
  });

  it('resolves 50 entity references with one statement, like 5', async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on CodingTask { id status executions { status } } } }`;
    const refs = (n: number) => ids.slice(0, n).map((id) => ({ __typename: 'CodingTask', id }));
    const five = await statementsFor(query, { r: refs(5) });
    const fifty = await statementsFor(query, { r: refs(50) });
    expect(fifty.data._entities).toHaveLength(50);
    expect(five.count).toBeGreaterThanOrEqual(2);
    expect(fifty.count).toBe(five.count);
    expect(fifty.count).toBeLessThanOrEqual(2);
  });
});
