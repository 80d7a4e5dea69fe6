import { randomUUID } from 'node:crypto';
import { toBusRecord } from '@cap/messaging';
import { pullsOf, repositoriesOf, reviewsOf, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { pushCommit, taskCompleted } from './taskEvents.js';

let h: GithubHarness;
const REVIEWS = 'POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews';

beforeAll(async () => {
  h = await startGithubHarness();
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
  await h.github.consumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const repo = () => repositoriesOf(h.fake).get('acme/widgets')!;
// The job pushes, opens the pull request and reviews it (several GitHub and git round trips): on a loaded machine
// that took over waitFor's default 15 s, so the bound is as far from it as the other job waits' in these tests.
const done = (taskId: string) =>
  waitFor(
    async () => {
      const job = await h.github.deps.prisma.pullRequestJob.findUnique({ where: { taskId } });
      return job?.status === 'DONE' ? job : false;
    },
    { message: `the job of ${taskId} done`, timeoutMs: 60_000 },
  );
const SUM = 'export function sum(a, b) {\n  return a + b;\n}\n\nexport const answer = 42;\n';
const notes = [
  { path: 'src/sum.js', line: 2, body: 'Adds now; cc @octocat <b>check</b> the overflow.' },
  { path: 'README.md', line: 500, body: 'Far outside the diff.' },
  { path: 'not/in/the/pull.txt', line: 1, body: 'A file the pull request does not touch.' },
];

describe('the agent’s own review on its pull request', { timeout: 120_000 }, () => {
  it('posts one COMMENT review per head: line comments on the diff, other notes folded into the summary', async () => {
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    const head = pushCommit(h.fake, branch, { 'src/sum.js': SUM });
    const event = taskCompleted(taskId, {
      branch,
      commitSha: head,
      reviewNotes: notes,
      verification: { passed: true, command: 'npm test' },
    });
    await h.bus.publish([toBusRecord(event)]);
    await done(taskId);
    const pull = pullsOf(h.fake, repo()).find((p) => p.head === branch)!;
    const reviews = reviewsOf(h.fake, repo()).filter((r) => r.pullNumber === pull.number);
    expect(reviews).toHaveLength(1);
    const [review] = reviews;
    expect(review).toMatchObject({ commitId: head, event: 'COMMENT' });
    expect(review!.comments).toEqual([
      expect.objectContaining({ path: 'src/sum.js', line: 2, side: 'RIGHT' }),
    ]);
    expect(review!.comments[0]!.body).not.toMatch(/<b>|@octocat/);
    expect(review!.body).toContain('Fixed `sum` to add.');
    expect(review!.body).toContain('✅ passed');
    expect(review!.body).toContain('Far outside the diff.');
    expect(review!.body).toContain('not/in/the/pull.txt');
    expect(
      (await h.github.deps.prisma.pullRequest.findUniqueOrThrow({ where: { taskId } })).reviewedHeadSha,
    ).toBe(head);

    // The job run again (same head): no second review.
    await h.github.deps.prisma.pullRequestJob.update({ where: { taskId }, data: { status: 'PENDING' } });
    h.github.pullRequests.notify();
    await done(taskId);
    await h.github.pullRequests.idle();
    expect(reviewsOf(h.fake, repo()).filter((r) => r.pullNumber === pull.number)).toHaveLength(1);

    // A re-run pushes a new head: one more review, for it.
    const next = pushCommit(h.fake, branch, { 'src/sum.js': `${SUM}export const more = 1;\n` });
    await h.bus.publish([
      toBusRecord(taskCompleted(taskId, { attempt: 2, branch, commitSha: next, reviewNotes: [] })),
    ]);
    await waitFor(
      async () => reviewsOf(h.fake, repo()).filter((r) => r.pullNumber === pull.number).length === 2,
    );
    expect(reviewsOf(h.fake, repo()).at(-1)).toMatchObject({ commitId: next, comments: [] });
    expect(h.fake.violations).toEqual([]);
  });

  it('folds every note into the summary when GitHub refuses the line comments (422)', async () => {
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    pushCommit(h.fake, branch, { 'src/sum.js': SUM });
    h.fake.failNext(REVIEWS, {
      status: 422,
      body: { message: 'Unprocessable Entity', errors: ['Line could not be resolved'] },
    });
    await h.bus.publish([toBusRecord(taskCompleted(taskId, { branch, reviewNotes: notes }))]);
    await done(taskId);
    const pull = pullsOf(h.fake, repo()).find((p) => p.head === branch)!;
    const reviews = reviewsOf(h.fake, repo()).filter((r) => r.pullNumber === pull.number);
    expect(reviews).toHaveLength(1);
    expect(reviews[0]!.comments).toEqual([]);
    expect(reviews[0]!.body).toContain('src/sum.js');
    expect(reviews[0]!.body).not.toContain('<b>');
  });

  it('a review GitHub keeps failing leaves the job pending for a retry, then posts once', async () => {
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    pushCommit(h.fake, branch, { 'src/sum.js': SUM });
    h.fake.failNext(REVIEWS, { status: 502, body: { message: 'Server Error' } }, 4);
    await h.bus.publish([toBusRecord(taskCompleted(taskId, { branch }))]);
    const job = await done(taskId);
    expect(job.attempts).toBe(2);
    const pull = pullsOf(h.fake, repo()).find((p) => p.head === branch)!;
    expect(reviewsOf(h.fake, repo()).filter((r) => r.pullNumber === pull.number)).toHaveLength(1);
    expect(pullsOf(h.fake, repo()).filter((p) => p.head === branch)).toHaveLength(1);
  });
});
