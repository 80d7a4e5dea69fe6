import { randomUUID } from 'node:crypto';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, transitionTask } from '../src/domain/tasks.js';
import {
  CREATE_TASK,
  createTaskVia,
  startOrchestrationHarness,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

// One API-only instance (no workers): tasks stay where the API puts them. Classification waits a minute, so
// tasks without a strategy override stay CLASSIFYING.
let cluster: OrchestrationHarness;
let api: Instance;
const alice = userPrincipal('DEVELOPER');
const bob = userPrincipal('DEVELOPER');
const admin = userPrincipal('ADMIN');
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

async function counts(): Promise<{ tasks: number; executions: number; counters: number; outbox: number }> {
  const { prisma } = api.orchestration.deps;
  const [tasks, executions, counters, outbox] = await Promise.all([
    prisma.codingTask.count(),
    prisma.taskExecution.count(),
    prisma.taskLogCounter.count(),
    prisma.outboxEvent.count(),
  ]);
  return { tasks, executions, counters, outbox };
}

const TASK = /* GraphQL */ `
  query ($id: ID!) {
    task(id: $id) {
      id
      title
      description
      repository
      status
      strategy
      strategySource
      priority
      version
      attempts
      creator {
        id
      }
      executions {
        attempt
        status
        strategy
      }
      availableTransitions
      classificationDeadlineAt
    }
  }
`;

describe('creating and reading tasks', () => {
  it('creates a CLASSIFYING task with a deadline, or a QUEUED one with an execution when the strategy is overridden', async () => {
    const waiting = await api.call(
      CREATE_TASK,
      {
        input: {
          title: '  Fix the flaky date test  ',
          description: 'It fails\nat midnight.\tUTC',
          repository: 'acme/widgets',
        },
      },
      alice,
    );
    expect(waiting.errors).toBeUndefined();
    const id = waiting.data!['createTask'].id as string;
    const read = await api.call(TASK, { id }, viewer);
    expect(read.data!['task']).toMatchObject({
      title: 'Fix the flaky date test',
      description: 'It fails\nat midnight.\tUTC',
      repository: 'acme/widgets',
      status: 'CLASSIFYING',
      strategy: null,
      priority: 'NORMAL',
      attempts: 0,
      creator: { id: alice.userId },
      executions: [],
      availableTransitions: ['QUEUED', 'CANCELLED'],
    });
    expect(new Date(read.data!['task'].classificationDeadlineAt).getTime()).toBeGreaterThan(
      Date.now() + 50_000,
    );

    const queued = await api.call(
      CREATE_TASK,
      { input: { title: 'Refactor', strategy: 'MULTI_AGENT', priority: 'HIGH' } },
      alice,
    );
    const queuedTask = await api.call(TASK, { id: queued.data!['createTask'].id }, alice);
    expect(queuedTask.data!['task']).toMatchObject({
      status: 'QUEUED',
      strategy: 'MULTI_AGENT',
      strategySource: 'OVERRIDE',
      attempts: 1,
      executions: [{ attempt: 1, status: 'QUEUED', strategy: 'MULTI_AGENT' }],
    });
    // TaskCreated went into the outbox with the task.
    const events = await api.orchestration.deps.prisma.outboxEvent.findMany({ where: { key: id } });
    expect(events.map((event) => event.type)).toEqual(['TaskCreated']);
  });

  it('returns null for an unknown task and BAD_USER_INPUT for a malformed id', async () => {
    expect((await api.call(TASK, { id: randomUUID() }, viewer)).data).toEqual({ task: null });
    expect(errorCodes(await api.call(TASK, { id: 'nope' }, viewer))).toEqual(['BAD_USER_INPUT']);
  });

  it('resolves CodingTask entity references for callers who may read tasks', async () => {
    const id = await createTaskVia(api, alice, { title: 'Referenced' });
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on CodingTask { id title } } }`;
    const representations = [
      { __typename: 'CodingTask', id },
      { __typename: 'CodingTask', id: 'not-a-uuid' },
    ];
    expect((await api.call(query, { r: representations }, viewer)).data).toEqual({
      _entities: [{ id, title: 'Referenced' }, null],
    });
    expect((await api.call(query, { r: representations })).data).toEqual({ _entities: [null, null] });
  });
});

describe('roles', () => {
  it('lets VIEWERs read but not create, and anonymous callers nothing', async () => {
    expect(errorCodes(await api.call(CREATE_TASK, { input: { title: 'x' } }, viewer))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await api.call(CREATE_TASK, { input: { title: 'x' } }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await api.call('{ tasks { edges { node { id } } } }'))).toEqual(['UNAUTHENTICATED']);
    expect(
      (await api.call('{ tasks(first: 1) { edges { node { id } } } }', {}, viewer)).errors,
    ).toBeUndefined();
  });

  it('lets a DEVELOPER cancel only their own tasks, and an ADMIN anyone’s', async () => {
    const before = await counts();
    const mine = await createTaskVia(api, alice, { title: 'Alice’s task' });
    const cancel = `mutation($id: ID!) { cancelTask(id: $id, reason: "not needed") { id status } }`;
    const refused = await api.call(cancel, { id: mine }, bob);
    expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0]!.extensions).toMatchObject({ requiredRole: 'ADMIN', taskId: mine });
    expect(errorCodes(await api.call(cancel, { id: mine }, viewer))).toEqual(['FORBIDDEN']);
    // Nothing changed: still CLASSIFYING, same version, no TaskCancelled.
    const task = await api.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id: mine } });
    expect(task).toMatchObject({ status: 'CLASSIFYING', version: 0 });
    expect(await counts()).toEqual({
      ...before,
      tasks: before.tasks + 1,
      counters: before.counters + 1,
      outbox: before.outbox + 1,
    });

    expect((await api.call(cancel, { id: mine }, alice)).data).toEqual({
      cancelTask: { id: mine, status: 'CANCELLED' },
    });
    const other = await createTaskVia(api, bob, { title: 'Bob’s task' });
    expect((await api.call(cancel, { id: other }, admin)).data).toEqual({
      cancelTask: { id: other, status: 'CANCELLED' },
    });
    const cancelled = await api.orchestration.deps.prisma.outboxEvent.findMany({
      where: { key: other, type: 'TaskCancelled' },
    });
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.payload).toMatchObject({
      payload: {
        taskId: other,
        previousStatus: 'CLASSIFYING',
        cancelledBy: admin.userId,
        reason: 'not needed',
      },
    });
    expect(errorCodes(await api.call(cancel, { id: randomUUID() }, admin))).toEqual(['NOT_FOUND']);
  });
});

describe('hostile input', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown local repository', { repository: '/nonexistent/repo/path' }, 'repository'],
    ['a malformed repository', { repository: 'https://evil.example.com/x.git' }, 'repository'],
    ['a repository with too many segments', { repository: 'acme/widgets/../../etc' }, 'repository'],
    ['a 100 KB title', { title: 'x'.repeat(100 * 1024) }, 'title'],
    ['a multi-line title', { title: 'line one\nline two' }, 'title'],
    ['a blank title', { title: '   ' }, 'title'],
    [
      'a description with control characters',
      { description: 'bell \u0007 and escape \u001b[31m red' },
      'description',
    ],
    ['a description with NUL', { description: 'nul \u0000 here' }, 'description'],
    ['a 25,000-character description', { description: 'd'.repeat(25_000) }, 'description'],
    ['a command with control characters', { command: 'echo \u0000' }, 'command'],
    ['a zero timeout', { timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['a two-day timeout', { timeoutSeconds: 172_800 }, 'timeoutSeconds'],
  ];

  it.each(cases)('refuses %s with BAD_USER_INPUT and writes nothing', async (_name, input, field) => {
    const before = await counts();
    const result = await api.call(CREATE_TASK, { input: { title: 'Valid title', ...input } }, alice);
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.extensions).toMatchObject({ field });
    expect(result.errors![0]!.message.length).toBeLessThan(300);
    expect(await counts()).toEqual(before);
  });

  it('refuses a cancel reason with control characters and malformed ids', async () => {
    const id = await createTaskVia(api, alice, {});
    expect(
      errorCodes(
        await api.call(
          `mutation($id: ID!) { cancelTask(id: $id, reason: "a\\u0000b") { id } }`,
          { id },
          alice,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await api.call(`mutation { cancelTask(id: "1 OR 1=1") { id } }`, {}, alice))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect((await api.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } })).status).toBe(
      'CLASSIFYING',
    );
  });

  it('refuses transitions the state machine forbids with INVALID_TASK_TRANSITION { from, to }', async () => {
    const id = await createTaskVia(api, alice, {});
    const retry = await api.call(`mutation($id: ID!) { retryTask(id: $id) { id } }`, { id }, alice);
    expect(errorCodes(retry)).toEqual(['INVALID_TASK_TRANSITION']);
    // CLASSIFYING -> QUEUED exists, but only a classification causes it: a retry applies to FAILED tasks.
    expect(retry.errors![0]!.extensions).toMatchObject({ from: 'CLASSIFYING', to: 'QUEUED', event: 'RETRY' });
    expect(retry.errors![0]!.message).toMatch(/RETRY applies to FAILED tasks/);
    const answer = await api.call(
      `mutation($id: ID!) { provideTaskInput(input: { taskId: $id, answer: "yes" }) { id } }`,
      { id },
      alice,
    );
    expect(answer.errors![0]!.extensions).toMatchObject({
      code: 'INVALID_TASK_TRANSITION',
      from: 'CLASSIFYING',
      to: 'QUEUED',
      event: 'ANSWER',
    });
    expect(
      (await api.orchestration.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } })).version,
    ).toBe(0);
    await api.call(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id }, alice);
    const again = await api.call(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id }, alice);
    expect(again.errors![0]!.extensions).toMatchObject({
      code: 'INVALID_TASK_TRANSITION',
      from: 'CANCELLED',
      to: 'CANCELLED',
    });
  });

  it('refuses oversized pages and foreign cursors', async () => {
    expect(
      errorCodes(await api.call('{ tasks(first: 1000) { edges { node { id } } } }', {}, viewer)),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      errorCodes(
        await api.call('{ tasks(first: 2, after: "garbage") { edges { node { id } } } }', {}, viewer),
      ),
    ).toEqual(['BAD_USER_INPUT']);
  });
});

describe('concurrent changes (optimistic locking)', () => {
  it('lets exactly one of ten simultaneous cancels win; the others see the new state', async () => {
    const id = await createTaskVia(api, alice, {});
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.call(`mutation($id: ID!) { cancelTask(id: $id) { status version } }`, { id }, alice),
      ),
    );
    const won = results.filter((result) => !result.errors);
    expect(won).toHaveLength(1);
    expect(won[0]!.data!['cancelTask']).toEqual({ status: 'CANCELLED', version: 1 });
    for (const lost of results.filter((result) => result.errors))
      expect(errorCodes(lost)).toEqual(['INVALID_TASK_TRANSITION']);
    const events = await api.orchestration.deps.prisma.outboxEvent.count({
      where: { key: id, type: 'TaskCancelled' },
    });
    expect(events).toBe(1);
  });

  it('retries an update that lost the race, and answers CONFLICT when the task keeps changing', async () => {
    const { deps } = api.orchestration;
    // Another writer commits a change between this transaction's read and its update, every time.
    const interfere = async (id: string) => {
      await deps.prisma.codingTask.update({ where: { id }, data: { version: { increment: 1 } } });
    };
    const busy = await createTaskVia(api, alice, {});
    let tries = 0;
    const conflicted = transitionTask(deps, busy, async () => {
      tries += 1;
      await interfere(busy);
      return { to: 'CANCELLED', on: 'CANCEL' };
    });
    await expect(conflicted).rejects.toMatchObject({ extensions: { code: 'CONFLICT', id: busy } });
    expect(tries).toBe(3);
    expect((await deps.prisma.codingTask.findUniqueOrThrow({ where: { id: busy } })).status).toBe(
      'CLASSIFYING',
    );

    // Once the interference stops, the retry succeeds on the fresh state.
    const flaky = await createTaskVia(api, alice, {});
    tries = 0;
    const recovered = await transitionTask(deps, flaky, async () => {
      tries += 1;
      if (tries === 1) await interfere(flaky);
      return { to: 'CANCELLED', on: 'CANCEL', data: { finishedAt: new Date() } };
    });
    expect(tries).toBe(2);
    expect(recovered).toMatchObject({ status: 'CANCELLED', version: 2 });
    await expect(cancelTask(deps, alice, { id: flaky })).rejects.toMatchObject({
      extensions: { code: 'INVALID_TASK_TRANSITION', from: 'CANCELLED', to: 'CANCELLED' },
    });
  });
});
