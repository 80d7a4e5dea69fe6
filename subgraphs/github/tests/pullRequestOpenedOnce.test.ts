import { randomUUID } from 'node:crypto';
import { toBusRecord } from '@cap/messaging';
import {
  githubWebhookDelivery,
  pullRequestOpenedDelivery,
  pullsOf,
  repositoriesOf,
  seededInts,
  userPrincipal,
  waitFor,
  type WebhookDelivery,
} from '@cap/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimOpenedEvent, storePullLocked } from '../src/domain/pullRequestStore.js';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { openPullByHand, pushBranch, taskCompleted } from './taskEvents.js';

/**
 * GitHub answers the platform's `POST /pulls` and sends its `pull_request` `opened` delivery at about the same
 * time; whichever of the delivery and the task path stores the pull request first, it is announced once
 * (`PullRequestOpened`), with its task. The fake GitHub sends the delivery to the subgraph from inside the create
 * request, so each test decides when it arrives and is processed relative to the task path's commit.
 */
let h: GithubHarness;
let repositoryId: string;

beforeAll(async () => {
  h = await startGithubHarness();
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
  repositoryId = (await h.github.deps.prisma.repository.findFirstOrThrow({ where: { name: 'widgets' } })).id;
  await h.github.consumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});
beforeEach(() => {
  h.fake.webhook = null;
});

const fakePulls = () => pullsOf(h.fake, repositoriesOf(h.fake).get('acme/widgets')!);

/** Points the fake's repository hook at the subgraph; `dispatch` decides when each delivery goes. */
function hook(dispatch?: (delivery: WebhookDelivery, send: () => Promise<number>) => Promise<void>): void {
  h.fake.webhook = {
    url: `${h.github.subgraph.url}/webhooks/github`,
    secret: h.webhookSecret,
    ...(dispatch ? { dispatch } : {}),
  };
}

/** Resolves once the subgraph processed (and committed) delivery `id`. */
const processed = (id: string) =>
  waitFor(
    async () =>
      (await h.github.deps.prisma.webhookDelivery.findUnique({ where: { deliveryId: id } }))?.processedAt !=
      null,
    { message: `delivery ${id} processed` },
  );

/** Publishes a TaskCompleted of a fresh task (its branch pushed) and resolves once its job is done. */
async function runTask(): Promise<{ taskId: string; branch: string }> {
  const taskId = randomUUID();
  const event = taskCompleted(taskId);
  const branch = event.payload.branch!;
  pushBranch(h.fake, branch);
  await h.bus.publish([toBusRecord(event)]);
  await waitFor(
    async () =>
      (await h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId } }))?.status === 'DONE',
    { message: `the job of ${taskId} done`, timeoutMs: 30_000 },
  );
  return { taskId, branch };
}

/** What the outbox says of pull request `number` of acme/widgets. */
async function eventsOfPull(number: number) {
  const mine = (await h.outbox()).filter(
    (e) => e.payload['repositoryId'] === repositoryId && e.payload['number'] === number,
  );
  return {
    opened: mine.filter((e) => e.type === 'PullRequestOpened').map((e) => e.payload),
    updated: mine.filter((e) => e.type === 'PullRequestUpdated').map((e) => e.payload),
  };
}

/** Asserts the task's pull request: one on GitHub, stored with the task, announced once with the task. */
async function expectOpenedOnce(task: { taskId: string; branch: string }): Promise<number> {
  const onGithub = fakePulls().filter((p) => p.head === task.branch);
  expect(onGithub).toHaveLength(1);
  const number = onGithub[0]!.number;
  const stored = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({
    where: { repositoryId_number: { repositoryId, number } },
  });
  expect(stored.taskId).toBe(task.taskId);
  const { opened, updated } = await eventsOfPull(number);
  expect(opened).toHaveLength(1);
  expect(opened[0]).toMatchObject({ taskId: task.taskId, pullRequestId: stored.id, headBranch: task.branch });
  expect(updated.filter((e) => e['action'] === 'task_linked')).toEqual([]);
  // The reservation is gone with the stored pull request.
  expect(await h.github.deps.prisma.pullRequestReservation.count({ where: { taskId: task.taskId } })).toBe(0);
  return number;
}

describe('one PullRequestOpened per pull request', { timeout: 180_000 }, () => {
  it('GitHub’s opened delivery processed before the task path stores: it links the task, the task path adds nothing', async () => {
    let storedWhenDelivered: unknown = 'not delivered';
    hook(async (delivery, send) => {
      const number = (JSON.parse(delivery.body.toString('utf8')) as { number: number }).number;
      storedWhenDelivered = await h.github.deps.prisma.pullRequest.findUnique({
        where: { repositoryId_number: { repositoryId, number } },
      });
      expect(await send()).toBe(202);
      await processed(delivery.id);
    });
    const task = await runTask();
    // The delivery really came first: nothing was stored when it was sent, and it was processed before the answer.
    expect(storedWhenDelivered).toBeNull();
    const number = await expectOpenedOnce(task);
    expect((await eventsOfPull(number)).updated).toEqual([]);
    expect(h.fake.violations).toEqual([]);
  });

  it('the task path stores first: GitHub’s opened delivery arriving after it adds nothing', async () => {
    const held: Array<() => Promise<void>> = [];
    hook(async (delivery, send) => {
      held.push(async () => {
        expect(await send()).toBe(202);
        await processed(delivery.id);
      });
    });
    const task = await runTask();
    expect(held).toHaveLength(1);
    const before = await eventsOfPull(await expectOpenedOnce(task));
    await held[0]!();
    const number = await expectOpenedOnce(task);
    expect(await eventsOfPull(number)).toEqual(before);
    expect(h.fake.violations).toEqual([]);
  });

  it('generated interleavings of the delivery, the task path and the poller record one PullRequestOpened', async () => {
    const random = seededInts(0x0be7ed);
    // 0: processed before GitHub answers; 1: sent, processed while the task path stores; 2: held until the job is
    // done; 3: sent twice (a redelivery under another id), racing. Each twice, in a seeded order.
    const modes = [0, 1, 2, 3, 0, 1, 2, 3];
    for (let i = modes.length - 1; i > 0; i--) {
      const j = random(i + 1);
      [modes[i], modes[j]] = [modes[j]!, modes[i]!];
    }
    for (const mode of modes) {
      const pauseMs = random(30);
      const inFlight: Array<Promise<unknown>> = [];
      const held: WebhookDelivery[] = [];
      hook(async (delivery, send) => {
        if (mode === 0) {
          await send();
          await processed(delivery.id);
        } else if (mode === 2) {
          held.push(delivery);
        } else {
          inFlight.push(send().then(() => processed(delivery.id)));
          if (mode === 3) {
            const again = githubWebhookDelivery({
              event: 'pull_request',
              payload: JSON.parse(delivery.body.toString('utf8')) as unknown,
              secret: h.webhookSecret,
            });
            inFlight.push(
              new Promise((resolve) => setTimeout(resolve, pauseMs))
                .then(() => h.deliver(again))
                .then(() => processed(again.id)),
            );
          }
        }
      });
      // The poller reads the task's pull request as soon as it is stored, whenever that is.
      const polling = h.github.reconciler.pollNow();
      const task = await runTask();
      for (const delivery of held) {
        expect((await h.deliver(delivery)).status).toBe(202);
        await processed(delivery.id);
      }
      await Promise.all([...inFlight, polling, h.github.reconciler.pollNow()]);
      await expectOpenedOnce(task);
    }
    expect(h.fake.violations).toEqual([]);
  });

  it('two transactions storing one new pull request at once: one creates and claims it, the other waits, then finds it', async () => {
    const { prisma } = h.github.deps;
    const repository = await prisma.repository.findUniqueOrThrow({ where: { id: repositoryId } });
    const random = seededInts(0x57043);
    for (const taskFirst of [true, false]) {
      const taskId = randomUUID();
      const branch = `cap/task-${taskId.slice(0, 8)}`;
      const number = 500 + random(100) * 2 + (taskFirst ? 0 : 1);
      await prisma.pullRequestReservation.create({
        data: { repositoryId, headBranch: branch, taskId, expiresAt: new Date(Date.now() + 600_000) },
      });
      const pull = {
        number,
        html_url: `${h.fake.url}/acme/widgets/pull/${number}`,
        title: 'At once',
        state: 'open',
        head: { ref: branch, sha: 'c'.repeat(40), label: `acme:${branch}` },
        base: { ref: 'main' },
      };
      // The task path stores with its task; GitHub's delivery stores without one.
      const store = (withTask: boolean, hold?: Promise<void>, stored?: () => void) =>
        prisma.$transaction(
          async (tx) => {
            const result = await storePullLocked(tx, repository, pull, withTask ? taskId : null);
            const claimed = await claimOpenedEvent(tx, result.saved.id);
            stored?.();
            await hold;
            return { ...result, claimed };
          },
          { timeout: 30_000 },
        );
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      let storedFirst!: () => void;
      const firstStored = new Promise<void>((resolve) => (storedFirst = resolve));
      const first = store(taskFirst, hold, storedFirst);
      await firstStored;
      const second = store(!taskFirst);
      // The second waits on the first's uncommitted row (a lock wait in PostgreSQL), until the first commits.
      await waitFor(async () => {
        const waiting = await prisma.$queryRaw<Array<{ n: number }>>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return waiting[0]!.n > 0;
      });
      release();
      const [a, b] = await Promise.all([first, second]);
      expect([a.claimed, a.previous, b.claimed, b.previous]).toEqual([true, null, false, 'OPEN']);
      // Either way the pull request is the task's: stored with it, or linked through its reservation.
      expect(a.saved.taskId).toBe(taskId);
      expect(b.saved.taskId).toBe(taskId);
    }
  });

  it('an opened delivery for a pull request nobody on the platform opened records its one PullRequestOpened', async () => {
    hook();
    const branch = `people/${randomUUID().slice(0, 8)}`;
    // Someone opens it on GitHub (their own token): the fake sends the delivery before answering them.
    const { number, deliveryId } = await openPullByHand(h.fake, branch, 'By hand');
    await processed(deliveryId);
    const { opened } = await eventsOfPull(number);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ taskId: null, headBranch: branch, title: 'By hand' });
    expect(h.fake.violations).toEqual([]);
  });

  it('a pull request someone opened from the task’s branch before the task path: announced once, then linked by an update', async () => {
    hook();
    const taskId = randomUUID();
    const event = taskCompleted(taskId);
    const branch = event.payload.branch!;
    const { number, deliveryId } = await openPullByHand(h.fake, branch, 'Early bird');
    await processed(deliveryId);
    await h.bus.publish([toBusRecord(event)]);
    await waitFor(
      async () =>
        (await h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId } }))?.status === 'DONE',
      { message: 'the job done', timeoutMs: 30_000 },
    );
    const { opened, updated } = await eventsOfPull(number);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ taskId: null });
    expect(updated).toEqual([expect.objectContaining({ action: 'task_linked', taskId })]);
    expect(fakePulls().filter((p) => p.head === branch)).toHaveLength(1);
  });

  it('a fork’s branch named like a reserved one is not linked to the task', async () => {
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    await h.github.deps.prisma.pullRequestReservation.create({
      data: { repositoryId, headBranch: branch, taskId, expiresAt: new Date(Date.now() + 600_000) },
    });
    const number = 900 + seededInts(7)(50);
    const delivery = pullRequestOpenedDelivery({
      secret: h.webhookSecret,
      webUrl: h.fake.url,
      owner: 'acme',
      name: 'widgets',
      number,
      title: 'From a fork',
      head: { ref: branch, sha: 'f'.repeat(40), label: `mallory:${branch}` },
      base: { ref: 'main', sha: 'e'.repeat(40), label: 'acme:main' },
    });
    expect((await h.deliver(delivery)).status).toBe(202);
    await processed(delivery.id);
    const { opened } = await eventsOfPull(number);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ taskId: null });
    // The reservation stays for the task's own pull request.
    expect(await h.github.deps.prisma.pullRequestReservation.count({ where: { taskId } })).toBe(1);
  });
});
