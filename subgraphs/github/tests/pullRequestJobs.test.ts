import { randomUUID } from 'node:crypto';
import { TaskCompleted } from '@cap/events';
import type { MemoryEventBus } from '@cap/messaging';
import { dlqTopic, toBusRecord } from '@cap/messaging';
import { errorCodes, pullsOf, repositoriesOf, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullRequestWorker } from '../src/jobs/pullRequestWorker.js';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { pushBranch, taskCompleted } from './taskEvents.js';

let h: GithubHarness;
const LIST = 'GET /repos/{owner}/{repo}/pulls';
const CREATE = 'POST /repos/{owner}/{repo}/pulls';

beforeAll(async () => {
  h = await startGithubHarness();
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
  await h.github.consumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const jobOf = (taskId: string) => h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId } });
const pulls = () => pullsOf(h.fake, repositoriesOf(h.fake).get('acme/widgets')!);
const createCalls = () => h.fake.calls.filter((c) => c.route === CREATE && c.status === 201).length;

describe('pull-request jobs', () => {
  it('records the job in the consumer transaction and opens the pull request after the commit', async () => {
    const taskId = randomUUID();
    const event = taskCompleted(taskId);
    pushBranch(h.fake, event.payload.branch!);
    await h.bus.publish([toBusRecord(event)]);
    const job = await waitFor(async () => {
      const row = await jobOf(taskId);
      return row?.status === 'DONE' ? row : false;
    });
    const pr = await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { taskId } });
    expect(job).toMatchObject({ attempts: 1, lastError: null, pullRequestId: pr.id, taskAttempt: 1 });
    expect(pulls().filter((p) => p.head === event.payload.branch)).toHaveLength(1);
  });

  it('retries GitHub failures with backoff, then succeeds once', async () => {
    const taskId = randomUUID();
    const event = taskCompleted(taskId);
    pushBranch(h.fake, event.payload.branch!);
    // The client retries 5xx three times itself: four 502s fail the first attempt of the job.
    h.fake.failNext(LIST, { status: 502, body: { message: 'Server Error' } }, 4);
    await h.bus.publish([toBusRecord(event)]);
    const job = await waitFor(async () => {
      const row = await jobOf(taskId);
      return row?.status === 'DONE' ? row : false;
    });
    expect(job.attempts).toBe(2);
    expect(pulls().filter((p) => p.head === event.payload.branch)).toHaveLength(1);
  });

  it('fails a job permanently when the repository is not connected or GitHub refuses the branch', async () => {
    const unconnected = taskCompleted(randomUUID(), { repository: 'someone/else' });
    // A branch that was never pushed (or a hostile name): GitHub answers 422.
    const hostile = taskCompleted(randomUUID(), { branch: '../../refs/heads/main' });
    await h.bus.publish([toBusRecord(unconnected), toBusRecord(hostile)]);
    const failed = await waitFor(async () => {
      const rows = await Promise.all([jobOf(unconnected.payload.taskId), jobOf(hostile.payload.taskId)]);
      return rows.every((row) => row?.status === 'FAILED') ? rows : false;
    });
    expect(failed[0]).toMatchObject({ attempts: 1, errorCode: 'NOT_FOUND' });
    expect(failed[0]!.lastError).toContain('someone/else is not connected');
    expect(failed[1]).toMatchObject({ attempts: 1, errorCode: 'GITHUB_UNAVAILABLE' });
    // Not retried: still one attempt after several worker rounds.
    h.github.pullRequests.notify();
    await h.github.pullRequests.idle();
    expect((await jobOf(unconnected.payload.taskId))!.attempts).toBe(1);
    // Visible in the graph, beside the task's (absent) pull request; a viewer without repos:read sees nothing.
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on CodingTask { pullRequest { id } pullRequestJob { status attempts errorCode lastError } } } }`;
    const seen = await h.call(
      query,
      { r: [{ __typename: 'CodingTask', id: unconnected.payload.taskId }] },
      userPrincipal('DEVELOPER'),
    );
    expect(seen.data?.['_entities'][0]).toMatchObject({
      pullRequest: null,
      pullRequestJob: { status: 'FAILED', attempts: 1, errorCode: 'NOT_FOUND' },
    });
    const anonymous = await h.call(query, {
      r: [{ __typename: 'CodingTask', id: unconnected.payload.taskId }],
    });
    expect(errorCodes(anonymous)).toContain('UNAUTHENTICATED');
  });

  it('opens one pull request when two workers race and when a job runs twice', async () => {
    const taskId = randomUUID();
    const event = taskCompleted(taskId);
    pushBranch(h.fake, event.payload.branch!);
    const before = createCalls();
    const rivals = [1, 2, 3].map(
      () => new PullRequestWorker(h.github.deps, { intervalMs: 60_000, retryBaseMs: 50, leaseMs: 60_000 }),
    );
    await h.bus.publish([toBusRecord(event)]);
    await waitFor(() => jobOf(taskId).then((row) => row ?? false));
    for (const rival of rivals) rival.notify();
    await Promise.all(rivals.map((rival) => rival.stop()));
    await waitFor(async () => (await jobOf(taskId))?.status === 'DONE');
    // Run the finished job again (as after a lost completion): the pull request is updated, not duplicated.
    await h.github.deps.prisma.pullRequestJob.update({
      where: { taskId },
      data: { status: 'PENDING', leaseUntil: null },
    });
    h.github.pullRequests.notify();
    await waitFor(async () => (await jobOf(taskId))?.status === 'DONE');
    expect(createCalls() - before).toBe(1);
    expect(pulls().filter((p) => p.head === event.payload.branch)).toHaveLength(1);
  });

  it('a newer attempt of the task replaces the job; a late older one changes nothing', async () => {
    const taskId = randomUUID();
    const second = taskCompleted(taskId, { attempt: 2, title: 'Second attempt' });
    pushBranch(h.fake, second.payload.branch!);
    await h.bus.publish([toBusRecord(second)]);
    await waitFor(async () => (await jobOf(taskId))?.status === 'DONE');
    const late = taskCompleted(taskId, { attempt: 1, title: 'First attempt' });
    await h.bus.publish([toBusRecord(late)]);
    await waitFor(
      async () => (await h.github.deps.prisma.processedEvent.count({ where: { eventId: late.id } })) > 0,
    );
    h.github.pullRequests.notify();
    await h.github.pullRequests.idle();
    const job = await jobOf(taskId);
    expect(job).toMatchObject({ taskAttempt: 2, status: 'DONE', version: 1 });
    expect(pulls().find((p) => p.head === second.payload.branch)?.title).toBe('Second attempt');
  });

  it('sends malformed and oversized events to the dead-letter topic, recording nothing', async () => {
    const bus = h.bus as MemoryEventBus;
    const good = taskCompleted(randomUUID());
    const poison = [
      { ...toBusRecord(good), value: '{not json' },
      {
        ...toBusRecord(good),
        value: JSON.stringify({ ...good, payload: { ...good.payload, taskId: 'not-a-uuid' } }),
      },
      {
        ...toBusRecord(good),
        value: JSON.stringify({ ...good, payload: { ...good.payload, branch: 'b'.repeat(10_000) } }),
      },
    ];
    await bus.publish(poison);
    await waitFor(() => bus.records(dlqTopic(TaskCompleted.topic)).length >= poison.length || undefined);
    expect(await jobOf(good.payload.taskId)).toBeNull();
    expect(h.fake.violations).toEqual([]);
  });
});
