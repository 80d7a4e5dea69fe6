import { randomUUID } from 'node:crypto';
import { PullRequestOpened } from '@cap/events';
import { MemoryEventBus } from '@cap/messaging';
import { userPrincipal, waitFor, type FakeRun } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBranchOf } from '../src/domain/fixBranches.js';
import { fakeRun, runCompletedEvent, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * Issue #14's fix-of-a-fix guard: a failing run on a fix's own branch (the agent's `agent/<short id>`, or the head
 * of a fix's pull request) is a failed attempt of the ORIGINAL fix (its fingerprint counts towards escalation) and
 * never a new fix task, on the webhook path and on the poll path (which knows no task ids), even with a policy
 * whose globs select every branch.
 */
const OWNER = 'acme';
const NAME = `fixfix-${randomUUID().slice(0, 8)}`;
const REPOSITORY = `${OWNER}/${NAME}`;
const REPOSITORY_ID = randomUUID();
const alice = userPrincipal('DEVELOPER');
const bus = new MemoryEventBus();
let h: CicdHarness;

beforeAll(async () => {
  h = await startCicdHarness({ bus, orchestration: true });
  await Promise.all([h.cicd.consumerReady, h.orchestration!.fixRequestConsumerReady]);
  const policy = await h.call(
    `mutation ($input: SetFixPolicyInput!) { setFixPolicy(input: $input) { branches } }`,
    {
      input: {
        repository: REPOSITORY,
        mode: 'AUTO',
        branches: ['*', 'agent/*', '**'],
        maxAttemptsPerFingerprint: 10,
        maxAttemptsPerPullRequest: 10,
      },
    },
    alice,
  );
  expect(policy.errors).toBeUndefined();
}, 120_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

/** The github subgraph's event of a completed run (a push's run: no pull request, no task). */
const webhookEvent = (run: FakeRun, taskIds: string[] = []) =>
  runCompletedEvent(run, { id: REPOSITORY_ID, owner: OWNER, name: NAME }, taskIds);

const prisma = () => h.cicd.deps.prisma;
const buildOf = (run: FakeRun) =>
  prisma().build.findFirst({ where: { repository: REPOSITORY, runId: BigInt(run.id) } });
const fixTasks = () => h.orchestration!.deps.prisma.codingTask.count({ where: { fixId: { not: null } } });

/** A failing run of `branch` through the webhook, its fix REQUESTED and its task created. */
async function requestedFix(
  branch: string,
): Promise<{ fixId: string; taskId: string; fingerprints: string[] }> {
  const run = fakeRun({ branch, sha: sha() });
  h.actions.addRun(REPOSITORY, run);
  await h.publish(webhookEvent(run));
  return waitFor(
    async () => {
      const build = await buildOf(run);
      const fix = build ? await prisma().fixAttempt.findUnique({ where: { buildId: build.id } }) : null;
      return fix?.status === 'REQUESTED' && fix.taskId
        ? { fixId: fix.id, taskId: fix.taskId, fingerprints: fix.fingerprints }
        : undefined;
    },
    { timeoutMs: 60_000, message: `the fix task of the failure on ${branch}` },
  );
}

/** Waits until `run` is recorded and its logs were read (the point where a fix would be decided). */
async function understood(run: FakeRun) {
  return waitFor(
    async () => {
      const build = await buildOf(run);
      return build && build.logState !== 'PENDING' ? build : undefined;
    },
    { timeoutMs: 60_000, message: `run ${run.id} recorded and parsed` },
  );
}

async function fixOf(fixId: string) {
  return prisma().fixAttempt.findUniqueOrThrow({ where: { id: fixId } });
}

/** The fix once it is FAILED (a failed attempt of it concluded). */
function failedFix(fixId: string) {
  return waitFor(async () => {
    const fix = await fixOf(fixId);
    return fix.status === 'FAILED' ? fix : undefined;
  });
}

describe("a failing run on a fix's own branch", () => {
  it("webhook: the agent's branch fails → the original fix FAILED, no new fix task", async () => {
    const original = await requestedFix('feature/x');
    const task = await h.orchestration!.deps.prisma.codingTask.findUniqueOrThrow({
      where: { id: original.taskId },
    });
    expect(task.baseBranch).toBe('feature/x');
    const tasksBefore = await fixTasks();
    // The agent pushed agent/<short id>; the push's run fails. GitHub's event names no pull request, no task.
    const red = fakeRun({ branch: agentBranchOf(original.taskId), sha: sha() });
    h.actions.addRun(REPOSITORY, red);
    await h.publish(webhookEvent(red));
    const build = await understood(red);
    expect(build.taskIds).toEqual([original.taskId]);
    expect(await prisma().fixAttempt.findUnique({ where: { buildId: build.id } })).toBeNull();
    const failed = await failedFix(original.fixId);
    expect(failed.reason).toContain('FAILURE');
    expect(await fixTasks()).toBe(tasksBefore);
    // An agent's branch nobody knows yet (no FixTaskCreated seen for it): still never fixed.
    const stranger = fakeRun({ branch: 'agent/0badc0de', sha: sha() });
    h.actions.addRun(REPOSITORY, stranger);
    await h.publish(webhookEvent(stranger));
    const strangerBuild = await understood(stranger);
    expect(strangerBuild.logState).toBe('PARSED');
    expect(await prisma().fixAttempt.findUnique({ where: { buildId: strangerBuild.id } })).toBeNull();
    expect(await fixTasks()).toBe(tasksBefore);
  });

  it('poll: the head branch of a fix pull request fails → the original fix FAILED, no new fix task', async () => {
    const original = await requestedFix('feature/y');
    // The fix's pull request is opened from a branch not named like the agent's.
    await h.publish(
      PullRequestOpened.create(
        {
          repositoryId: REPOSITORY_ID,
          owner: OWNER,
          name: NAME,
          pullRequestId: randomUUID(),
          number: 41,
          url: `https://github.example/${REPOSITORY}/pull/41`,
          title: 'Fix the build',
          state: 'OPEN',
          draft: false,
          headBranch: 'fixes/feature-y',
          headSha: sha(),
          baseBranch: 'feature/y',
          taskId: original.taskId,
        },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    await waitFor(
      async () => ((await fixOf(original.fixId)).fixBranch === 'fixes/feature-y' ? true : undefined),
      { message: 'the fix pull request noted' },
    );
    const tasksBefore = await fixTasks();
    // Only the poll sees the red runs (GitHub's run list knows no task ids): the PR's branch and the agent's.
    const red = fakeRun({ branch: 'fixes/feature-y', sha: sha() });
    const agentRed = fakeRun({ branch: agentBranchOf(original.taskId), sha: sha() });
    h.actions.addRun(REPOSITORY, red);
    h.actions.addRun(REPOSITORY, agentRed);
    await h.cicd.poller.pollNow();
    for (const run of [red, agentRed]) {
      const build = await understood(run);
      expect(build.source).toBe('POLL');
      expect(await prisma().fixAttempt.findUnique({ where: { buildId: build.id } })).toBeNull();
    }
    const failed = await failedFix(original.fixId);
    expect(failed.reason).toContain('FAILURE');
    expect(await fixTasks()).toBe(tasksBefore);

    // Both failed fixes count for the original failure's fingerprint: its next failure goes to a person.
    expect(original.fingerprints.length).toBeGreaterThan(0);
    const third = fakeRun({ branch: 'feature/z', sha: sha() });
    h.actions.addRun(REPOSITORY, third);
    await h.publish(webhookEvent(third));
    const escalated = await waitFor(async () => {
      const build = await buildOf(third);
      const fix = build ? await prisma().fixAttempt.findUnique({ where: { buildId: build.id } }) : null;
      return fix ?? undefined;
    });
    expect(escalated).toMatchObject({ status: 'ESCALATED', taskId: null });
    expect(escalated.fingerprints).toEqual(original.fingerprints);
    expect(await fixTasks()).toBe(tasksBefore);
  });
});
