import { userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor, ExecutionOutcome } from '../src/index.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitForStatus,
  type Instance,
  type OrchestrationHarness,
} from './harness.js';

/**
 * `CodingTask.verification`: whether the agent's change passed its own tests, as the executor reported it, stored
 * with the execution's result and read through the subgraph by whoever can read the task. An executor plugged in
 * through the contract reports each outcome (the agent's own path is covered in agentReviewFacts.test.ts).
 */
const MARK = 'verification-test:';
const alice = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

/** What the scripted executor returns for a task, by title. */
const outcomes = new Map<string, ExecutionOutcome>();

/** An executor as a plug-in would be (the contract's `Executor`): it reports the outcome scripted for its task. */
const scripted: Executor = {
  name: 'scripted',
  canExecute: (task) => task.title.startsWith(MARK),
  execute: async (ctx) => {
    const outcome = outcomes.get(ctx.task.title);
    if (!outcome) throw new Error(`no outcome scripted for ${ctx.task.title}`);
    return outcome;
  },
};

let cluster: OrchestrationHarness;
let node: Instance;

beforeAll(async () => {
  cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '1' } });
  node = await cluster.start({}, { executors: [scripted] });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const TASKS = /* GraphQL */ `
  query ($filter: TaskFilter) {
    tasks(filter: $filter, first: 50) {
      edges {
        node {
          title
          status
          verification {
            passed
            command
          }
          result {
            verification {
              passed
              command
            }
          }
        }
      }
    }
  }
`;

const TASK = /* GraphQL */ `
  query ($id: ID!) {
    task(id: $id) {
      verification {
        passed
        command
      }
    }
  }
`;

/** Runs a task whose execution ends with `outcome`; returns its id once it finished. */
async function finished(name: string, outcome: ExecutionOutcome): Promise<string> {
  const title = `${MARK}${name}`;
  outcomes.set(title, outcome);
  const id = await createTaskVia(node, alice, { title, command: 'true', strategy: 'SINGLE_SHOT' });
  await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 60_000);
  return id;
}

const succeeded = (extra: Record<string, unknown>): ExecutionOutcome => ({
  kind: 'succeeded',
  result: { summary: 'done', ...extra },
});

async function verificationOf(id: string, principal = viewer) {
  const read = await node.call(TASK, { id }, principal);
  expect(read.errors).toBeUndefined();
  return read.data!['task'].verification as { passed: boolean; command: string | null } | null;
}

describe('CodingTask.verification', { timeout: 180_000 }, () => {
  it('shows a passing and a failing verification, and null for a task without one', async () => {
    const passing = await finished(
      'passing',
      succeeded({ verification: { passed: true, command: 'npm test' } }),
    );
    const failing = await finished(
      'failing',
      succeeded({ verification: { passed: false, command: 'pytest -q' } }),
    );
    const failed = await finished('failed run', {
      kind: 'failed',
      error: { code: 'AGENT_BUDGET_EXCEEDED', message: 'out of budget' },
      result: { verification: { passed: false, command: 'make check' } },
    });
    const none = await finished('none', succeeded({}));

    // A VIEWER reads it (whoever can read the task), the creator too.
    expect(await verificationOf(passing)).toEqual({ passed: true, command: 'npm test' });
    expect(await verificationOf(passing, alice)).toEqual({ passed: true, command: 'npm test' });
    expect(await verificationOf(failing)).toEqual({ passed: false, command: 'pytest -q' });
    expect(await verificationOf(failed)).toEqual({ passed: false, command: 'make check' });
    expect(await verificationOf(none)).toBeNull();

    // In a list, through the same batched loads as `result` (which shows the same).
    const list = await node.call(TASKS, {}, viewer);
    expect(list.errors).toBeUndefined();
    const byTitle = new Map(
      (list.data!['tasks'].edges as Array<{ node: Record<string, any> }>).map(({ node: task }) => [
        task['title'],
        task,
      ]),
    );
    expect(byTitle.get(`${MARK}failing`)).toMatchObject({
      status: 'SUCCEEDED',
      verification: { passed: false, command: 'pytest -q' },
      result: { verification: { passed: false, command: 'pytest -q' } },
    });
    expect(byTitle.get(`${MARK}none`)).toMatchObject({ verification: null, result: { verification: null } });
  });

  it('cuts a long command, redacts a secret-looking one, and drops what an executor returns malformed', async () => {
    const long = await finished(
      'long',
      succeeded({ verification: { passed: true, command: `npm test -- ${'x'.repeat(10_000)}\u0000` } }),
    );
    const command = (await verificationOf(long))!.command!;
    expect(command).toHaveLength(2_000);
    expect(command.endsWith('…')).toBe(true);

    const token = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
    const secret = await finished(
      'secret',
      succeeded({ verification: { passed: true, command: `GITHUB_TOKEN=${token} npm test` } }),
    );
    const shown = (await verificationOf(secret))!.command!;
    expect(shown).not.toContain(token);
    expect(shown).toContain('[REDACTED]');

    for (const [index, verification] of [{ passed: 'yes', command: 'x' }, 'passed', 1, []].entries()) {
      const id = await finished(`malformed ${index}`, succeeded({ verification }));
      expect(await verificationOf(id)).toBeNull();
    }
  });

  it('shows null, never an error, for hostile stored data', async () => {
    const id = await finished('stored', succeeded({ verification: { passed: true, command: 'npm test' } }));
    const { prisma } = node.orchestration.deps;
    const stored = [
      { passed: 'true', command: 'npm test' },
      { passed: 1 },
      { command: 'npm test' },
      [true, 'npm test'],
      'passed',
      42,
      true,
      null,
    ];
    for (const value of stored) {
      await prisma.$executeRaw`
        UPDATE "orchestration"."execution_results" SET verification = ${JSON.stringify(value)}::jsonb
        WHERE task_id = ${id}::uuid`;
      expect(await verificationOf(id), JSON.stringify(value)).toBeNull();
    }
    // A wrong-typed command alone is dropped, the outcome kept.
    for (const command of [42, { $: 'x' }, ['npm', 'test'], '']) {
      await prisma.$executeRaw`
        UPDATE "orchestration"."execution_results"
        SET verification = ${JSON.stringify({ passed: false, command })}::jsonb
        WHERE task_id = ${id}::uuid`;
      expect(await verificationOf(id)).toEqual({ passed: false, command: null });
    }
  });
});
