import { randomUUID } from 'node:crypto';
import { toBusRecord } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reserveHeadBranch } from '../src/domain/pullRequestStore.js';
import type { Repository } from '../src/generated/prisma/client.js';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { openPullByHand, taskCompleted } from './taskEvents.js';

/**
 * A head-branch reservation has a lifetime (GITHUB_PULL_REQUEST_RESERVATION_TTL_MS, ADR 0036): a task path that
 * never stored its pull request (GitHub refused the create) leaves a reservation that links a pull request opened
 * from the branch while it is fresh, never after it lapsed, and lapsed reservations are swept by the pull-request
 * worker and by the repository's next reservation. The worker runs only when woken here (a timer of an hour), so
 * a test decides when it sweeps.
 */
let h: GithubHarness;
let repository: Repository;
const TTL_MS = 600_000;

beforeAll(async () => {
  h = await startGithubHarness({
    GITHUB_PULL_REQUEST_RETRY_INTERVAL_MS: '3600000',
    GITHUB_PULL_REQUEST_RESERVATION_TTL_MS: String(TTL_MS),
  });
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
  repository = await h.github.deps.prisma.repository.findFirstOrThrow({ where: { name: 'widgets' } });
  await h.github.consumerReady;
  h.fake.webhook = { url: `${h.github.subgraph.url}/webhooks/github`, secret: h.webhookSecret };
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const reservations = (where: { taskId?: string } = {}) =>
  h.github.deps.prisma.pullRequestReservation.findMany({ where: { repositoryId: repository.id, ...where } });

/** Lets the reservations of `taskIds` lapse now (the database's clock decides, as in production). */
async function lapse(...taskIds: string[]): Promise<void> {
  await h.github.deps.prisma.$executeRaw`
    UPDATE "github"."pull_request_reservations" SET expires_at = now() - interval '1 second'
    WHERE task_id = ANY(${taskIds}::uuid[])`;
}

/** A task whose pull request GitHub refuses to create (its branch was never pushed): the job ends FAILED. */
async function refusedTask(): Promise<{ taskId: string; branch: string }> {
  const taskId = randomUUID();
  const event = taskCompleted(taskId);
  await h.bus.publish([toBusRecord(event)]);
  await waitFor(
    async () =>
      (await h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId } }))?.status === 'FAILED',
    { message: `the job of ${taskId} failed`, timeoutMs: 30_000 },
  );
  return { taskId, branch: event.payload.branch! };
}

/** Someone opens a pull request from `branch` on GitHub; resolves once its `opened` delivery was processed. */
async function openedByHand(branch: string) {
  const { number, deliveryId } = await openPullByHand(h.fake, branch, 'Later work');
  await waitFor(
    async () =>
      (await h.github.deps.prisma.webhookDelivery.findUnique({ where: { deliveryId } }))?.processedAt != null,
    { message: `delivery ${deliveryId} processed` },
  );
  const stored = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({
    where: { repositoryId_number: { repositoryId: repository.id, number } },
  });
  const opened = (await h.outbox('PullRequestOpened')).filter(
    (e) => e.payload['repositoryId'] === repository.id && e.payload['number'] === number,
  );
  return { taskId: stored.taskId, opened: opened.map((e) => e.payload['taskId']) };
}

describe('pull-request reservations have a lifetime', { timeout: 120_000 }, () => {
  it('a refused task path’s reservation links a pull request from its branch while fresh, not once it lapsed', async () => {
    const fresh = await refusedTask();
    const stale = await refusedTask();
    // GitHub refused both creates: the reservations stay behind (nothing stored them away).
    expect(await reservations({ taskId: fresh.taskId })).toHaveLength(1);
    expect(await reservations({ taskId: stale.taskId })).toHaveLength(1);
    await lapse(stale.taskId);

    // Within its lifetime the reservation still links (the task's work may yet be opened from its branch).
    expect(await openedByHand(fresh.branch)).toEqual({ taskId: fresh.taskId, opened: [fresh.taskId] });
    // A lapsed one is ignored even though its row is still there: the later pull request belongs to nobody's task.
    expect(await reservations({ taskId: stale.taskId })).toHaveLength(1);
    expect(await openedByHand(stale.branch)).toEqual({ taskId: null, opened: [null] });
    expect(h.fake.violations).toEqual([]);
  });

  it('the pull-request worker sweeps lapsed reservations and keeps fresh ones', async () => {
    const [lapsedA, lapsedB, live] = [randomUUID(), randomUUID(), randomUUID()];
    for (const taskId of [lapsedA, lapsedB, live])
      await reserveHeadBranch(
        h.github.deps.prisma,
        repository,
        `cap/task-${taskId.slice(0, 8)}`,
        taskId,
        TTL_MS,
      );
    await lapse(lapsedA, lapsedB);
    h.github.pullRequests.notify();
    await h.github.pullRequests.idle();
    const left = (await reservations()).map((r) => r.taskId);
    expect(left).toContain(live);
    expect(left).not.toContain(lapsedA);
    expect(left).not.toContain(lapsedB);
  });

  it('the repository’s next reservation sweeps its lapsed ones and renews a reservation of the same branch', async () => {
    const [lapsed, renewed, next] = [randomUUID(), randomUUID(), randomUUID()];
    const branch = `cap/task-${renewed.slice(0, 8)}`;
    await reserveHeadBranch(
      h.github.deps.prisma,
      repository,
      `cap/task-${lapsed.slice(0, 8)}`,
      lapsed,
      TTL_MS,
    );
    await reserveHeadBranch(h.github.deps.prisma, repository, branch, renewed, TTL_MS);
    await lapse(lapsed, renewed);
    // The task path reserving again (a retried job) gives the branch a fresh lifetime.
    await reserveHeadBranch(h.github.deps.prisma, repository, branch, renewed, TTL_MS);
    await reserveHeadBranch(h.github.deps.prisma, repository, `cap/task-${next.slice(0, 8)}`, next, TTL_MS);
    const left = await reservations();
    expect(left.map((r) => r.taskId)).not.toContain(lapsed);
    const [mine] = left.filter((r) => r.taskId === renewed);
    // Renewed: it expires about a lifetime from now again (the database's clock; a wide bound for slow machines).
    expect(mine?.expiresAt.getTime()).toBeGreaterThan(Date.now() + TTL_MS / 2);
    expect(left.map((r) => r.taskId)).toContain(next);
  });
});
