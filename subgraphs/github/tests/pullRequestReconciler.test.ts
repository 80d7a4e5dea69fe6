import { randomUUID } from 'node:crypto';
import {
  collectSubscription,
  fakeRateLimit,
  githubWebhookDelivery,
  pullRequestOpenedDelivery,
  sampleWebhookPayload,
  userPrincipal,
  waitFor,
} from '@cap/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGithubConfig } from '../src/index.js';
import { PullRequestReconciler } from '../src/jobs/pullRequestReconciler.js';
import { PullRequestTopic } from '../src/live/pullRequestLive.js';
import { startGithubHarness, type GithubHarness } from './harness.js';
import { eventsOf, GET_PULL, makeDue, mergeSilently, pullReads, seedOpenPulls } from './pollFixtures.js';

/**
 * The poller, the safety net for lost webhook deliveries. Polling's timer is off in the harness: each pass is
 * run by the test (`pollNow`), so what it did is observable pass by pass.
 */
let h: GithubHarness;
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  h = await startGithubHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

beforeEach(async () => {
  // Each test looks at its own pull requests: those of earlier tests are not due during it.
  await h.github.deps.prisma.$executeRaw`
    UPDATE "github"."pull_requests" SET next_poll_at = now() + interval '1 day'`;
});

const stateOf = async (id: string) =>
  (await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { id } })).state;

describe('the pull request poller', { timeout: 120_000 }, () => {
  it('a merge whose webhook was lost becomes MERGED: the event, the live update, once', async () => {
    const { pulls, fake } = await seedOpenPulls(h, 'lost-merge', 1);
    const pr = pulls[0]!;
    const live = collectSubscription<{ action: string; pullRequest: { state: string } }>(
      h.ws(viewer),
      'subscription ($t: ID) { pullRequestUpdated(taskId: $t) { action pullRequest { state } } }',
      { t: pr.taskId },
      'pullRequestUpdated',
    );
    await h.listening(PullRequestTopic.task(pr.taskId!));
    mergeSilently(fake[0]!);
    const pass = await h.github.reconciler.pollNow();
    expect(pass).toMatchObject({ polled: 1, changed: 1, failed: 0 });
    expect(await stateOf(pr.id)).toBe('MERGED');
    expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
    await live.waitFor(1);
    expect(live.events[0]).toEqual({ action: 'MERGED', pullRequest: { state: 'MERGED' } });
    // A merged pull request is not polled again.
    await makeDue(h, pulls);
    expect((await h.github.reconciler.pollNow()).polled).toBe(0);
    expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
    expect(h.fake.violations).toEqual([]);
  });

  it('an unchanged pull request answers 304 to the stored ETag: no change, no event, no rate limit spent', async () => {
    const { pulls } = await seedOpenPulls(h, 'unchanged', 1);
    const pr = pulls[0]!;
    expect(await h.github.reconciler.pollNow()).toMatchObject({ polled: 1, changed: 0, notModified: 0 });
    const stored = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { id: pr.id } });
    expect(stored.pollEtag).toMatch(/^W\/"[0-9a-f]{32}"$/);
    const remaining = fakeRateLimit(h.fake).remaining;
    await makeDue(h, pulls);
    expect(await h.github.reconciler.pollNow()).toMatchObject({ polled: 1, changed: 0, notModified: 1 });
    expect(pullReads(h, 'unchanged')).toEqual({ ok: 1, notModified: 1, failed: 0 });
    expect(fakeRateLimit(h.fake).remaining).toBe(remaining);
    const after = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { id: pr.id } });
    expect(after.state).toBe('OPEN');
    expect(after.updatedAt).toEqual(stored.updatedAt);
    expect((await h.outbox()).filter((e) => e.payload['pullRequestId'] === pr.id)).toEqual([]);
  });

  it('a webhook delivery and a poll racing over the same merge record it once, in either order or at once', async () => {
    const { pulls, fake } = await seedOpenPulls(h, 'racing', 3);
    const deliver = async (number: number) => {
      const delivery = githubWebhookDelivery({
        event: 'pull_request',
        schema: 'pull-request-closed',
        secret: h.webhookSecret,
        payload: sampleWebhookPayload('pull-request-closed', {
          action: 'closed',
          number,
          pull_request: {
            number,
            html_url: `${h.fake.url}/acme/racing/pull/${number}`,
            title: `Task ${number}`,
            state: 'closed',
            merged: true,
            merged_at: '2026-12-06T18:00:00Z',
            merge_commit_sha: 'c'.repeat(40),
            head: { ref: 'main', sha: 'd'.repeat(40) },
            base: { ref: 'main' },
          },
          repository: { name: 'racing', owner: { login: 'acme' } },
        }),
      });
      expect((await h.deliver(delivery)).status).toBe(202);
      await waitFor(async () => {
        const row = await h.github.deps.prisma.webhookDelivery.findUnique({
          where: { deliveryId: delivery.id },
        });
        return row?.processedAt != null;
      });
    };
    for (const pull of fake) mergeSilently(pull);
    // 1: the webhook first, then the poll. 2: the poll first, then the webhook. 3: both at once.
    await deliver(1);
    await h.github.reconciler.pollNow();
    await makeDue(h, pulls);
    await h.github.reconciler.pollNow();
    await deliver(2);
    await makeDue(h, pulls);
    await Promise.all([deliver(3), h.github.reconciler.pollNow()]);
    for (const pr of pulls) {
      expect(await stateOf(pr.id)).toBe('MERGED');
      expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
    }
  });

  it('two instances share the work: each pull request is read once and merged once', async () => {
    const { pulls, fake } = await seedOpenPulls(h, 'two-instances', 6);
    for (const pull of fake) mergeSilently(pull);
    const other = new PullRequestReconciler(h.github.deps, { intervalMs: 0, batchSize: 2 });
    try {
      const [a, b] = await Promise.all([h.github.reconciler.pollNow(), other.pollNow()]);
      expect(a.changed + b.changed).toBe(6);
    } finally {
      await other.stop();
    }
    expect(pullReads(h, 'two-instances').ok).toBe(6);
    for (const pr of pulls) expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
  });

  it('waits for the rate limit’s reset when few requests are left, then goes on', async () => {
    const { pulls, fake } = await seedOpenPulls(h, 'rate-limited', 2);
    for (const pull of fake) mergeSilently(pull);
    const rate = fakeRateLimit(h.fake);
    const resetAt = new Date(Date.now() + 3_000);
    Object.assign(rate, { remaining: 50, resetAt });
    try {
      const first = await h.github.reconciler.pollNow();
      expect(first).toMatchObject({ polled: 1, changed: 1, deferred: 1 });
      expect(pullReads(h, 'rate-limited').ok).toBe(1);
      const deferred = await h.github.deps.prisma.pullRequest.findMany({
        where: { repositoryId: pulls[0]!.repositoryId, state: 'OPEN' },
      });
      expect(deferred).toHaveLength(1);
      // Put back until GitHub's reset (whole seconds), not polled before it.
      expect(deferred[0]!.nextPollAt.getTime()).toBeGreaterThanOrEqual(resetAt.getTime() - 1_000);
      expect((await h.github.reconciler.pollNow()).polled).toBe(0);
      expect(pullReads(h, 'rate-limited').ok).toBe(1);
      await waitFor(async () => (await h.github.reconciler.pollNow()).changed === 1, {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: 'the deferred pull request polled after the reset',
      });
      expect(Date.now()).toBeGreaterThanOrEqual(resetAt.getTime() - 1_000);
      for (const pr of pulls) expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
    } finally {
      Object.assign(rate, { remaining: rate.limit });
    }
  });

  it('GitHub failing (5xx after the client’s retries) leaves the pull request for a later pass: nothing lost', async () => {
    const { pulls, fake } = await seedOpenPulls(h, 'failing', 1);
    const pr = pulls[0]!;
    mergeSilently(fake[0]!);
    // The first request and the client's three retries.
    h.fake.failNext(GET_PULL, { status: 502, body: { message: 'Bad Gateway' } }, 4);
    expect(await h.github.reconciler.pollNow()).toMatchObject({ polled: 1, failed: 1, changed: 0 });
    expect(await stateOf(pr.id)).toBe('OPEN');
    expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(0);
    await waitFor(async () => (await h.github.reconciler.pollNow()).changed === 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'the pull request polled again',
    });
    expect(await stateOf(pr.id)).toBe('MERGED');
    expect(await eventsOf(h, 'PullRequestMerged', pr.id)).toBe(1);
    expect(h.logs.join('\n')).toContain('retried at its next turn');
  });

  it('a hostile answer (another pull request’s number, closed) changes nothing', async () => {
    const { pulls } = await seedOpenPulls(h, 'hostile', 1);
    const pr = pulls[0]!;
    const other = h.fake.sample(GET_PULL, 200, {
      number: 999,
      state: 'closed',
      merged: true,
      title: 'x'.repeat(100_000),
    });
    h.fake.failNext(GET_PULL, { status: 200, body: other, headers: { etag: 'W/"hostile"' } });
    expect(await h.github.reconciler.pollNow()).toMatchObject({ polled: 1, changed: 0 });
    expect(await stateOf(pr.id)).toBe('OPEN');
    expect(await h.github.deps.prisma.pullRequest.count({ where: { number: 999 } })).toBe(0);
    const stored = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { id: pr.id } });
    expect(stored.pollEtag).toBeNull();
  });
});

describe('GITHUB_PR_POLL_INTERVAL_MS', () => {
  const base = {
    NODE_ENV: 'test',
    DATA_DIR: `/tmp/cap-test-${randomUUID()}`,
    INTERNAL_TOKEN_SECRET: 'x'.repeat(40),
    GITHUB_WEBHOOK_SECRET: 'y'.repeat(40),
    GITHUB_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  };
  it('defaults to a minute, 0 disables, and malformed values are refused at start', () => {
    expect(loadGithubConfig(base).GITHUB_PR_POLL_INTERVAL_MS).toBe(60_000);
    expect(loadGithubConfig({ ...base, GITHUB_PR_POLL_INTERVAL_MS: '0' }).GITHUB_PR_POLL_INTERVAL_MS).toBe(0);
    for (const bad of ['-1', 'abc', '1.5', '1e12', '86400001'])
      expect(() => loadGithubConfig({ ...base, GITHUB_PR_POLL_INTERVAL_MS: bad }), bad).toThrow(
        /GITHUB_PR_POLL_INTERVAL_MS/,
      );
    // The consumer's processed-event marks: kept 7 days by default, between a minute and a year.
    expect(loadGithubConfig(base).PROCESSED_EVENTS_RETENTION_MS).toBe(7 * 24 * 3_600_000);
    for (const bad of ['0', '59999', 'abc', '1.5', '31536000001'])
      expect(() => loadGithubConfig({ ...base, PROCESSED_EVENTS_RETENTION_MS: bad }), bad).toThrow(
        /PROCESSED_EVENTS_RETENTION_MS/,
      );
  });

  it('records PullRequestOpened once: an opened delivery for a pull request already stored adds no second one', async () => {
    const { pulls } = await seedOpenPulls(h, 'opened-once', 1);
    const deliverOpened = async (number: number) => {
      const delivery = pullRequestOpenedDelivery({
        secret: h.webhookSecret,
        webUrl: h.fake.url,
        owner: 'acme',
        name: 'opened-once',
        number,
        title: `Pull ${number}`,
        head: { ref: `feature/${number}`, sha: 'e'.repeat(40) },
      });
      expect((await h.deliver(delivery)).status).toBe(202);
      await waitFor(async () => {
        const row = await h.github.deps.prisma.webhookDelivery.findUnique({
          where: { deliveryId: delivery.id },
        });
        return row?.processedAt != null;
      });
    };
    // The task path stored (and announced) pull request 1: GitHub's own "opened" for it announces nothing new.
    await deliverOpened(pulls[0]!.number);
    expect(await eventsOf(h, 'PullRequestOpened', pulls[0]!.id)).toBe(0);
    // One the platform did not open: announced by the first delivery only, whatever the redeliveries.
    await deliverOpened(41);
    await deliverOpened(41);
    const stored = await h.github.deps.prisma.pullRequest.findFirstOrThrow({
      where: { repositoryId: pulls[0]!.repositoryId, number: 41 },
    });
    expect(await eventsOf(h, 'PullRequestOpened', stored.id)).toBe(1);
    expect(h.fake.violations).toEqual([]);
  });
});
