import { randomUUID } from 'node:crypto';
import { ChecksCompleted, FixTaskCreated } from '@cap/events';
import { MemoryEventBus } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/domain/builds.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import { fakeRun, runCompletedEvent, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * A check suite (`ChecksCompleted`) on a fix's pull request concludes the fix as a workflow run does: green →
 * FIXED, red → FAILED; a null conclusion, or checks of tasks that are no fix, change nothing.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const owner = userPrincipal('DEVELOPER');
const OWNER = 'acme';
const NAME = 'check-suites';
const REPOSITORY = `${OWNER}/${NAME}`;
const REPOSITORY_ID = randomUUID();

beforeAll(async () => {
  h = await startCicdHarness({ bus });
  await h.cicd.consumerReady;
  const policy = await h.call(
    `mutation { setFixPolicy(input: { repository: "acme/check-suites", mode: AUTO }) { mode } }`,
    {},
    owner,
  );
  expect(policy.errors).toBeUndefined();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

/** A requested fix whose task orchestration answered with FixTaskCreated. */
async function requestedFix() {
  const run = fakeRun({ branch: `feature/${randomUUID().slice(0, 8)}`, sha: sha() });
  h.actions.addRun(REPOSITORY, run);
  const recorded = await recordRun(
    h.cicd.deps,
    factsOfApiRun(REPOSITORY, h.actions.runPayload(REPOSITORY, run) as never),
    'POLL',
  );
  await h.cicd.logs.process(recorded.build);
  const fix = await h.cicd.deps.prisma.fixAttempt.findUniqueOrThrow({
    where: { buildId: recorded.build.id },
  });
  expect(fix.status).toBe('REQUESTED');
  const taskId = randomUUID();
  await h.publish(
    FixTaskCreated.create(
      { fixId: fix.id, taskId, creatorId: owner.userId },
      { source: 'orchestration', aggregateId: fix.id },
    ),
  );
  await waitFor(
    async () => ((await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { taskId } })) ? true : undefined),
    { message: 'the fix task noted' },
  );
  return { fix, taskId };
}

function checks(taskIds: string[], conclusion: 'SUCCESS' | 'FAILURE' | null) {
  return ChecksCompleted.create(
    {
      repositoryId: REPOSITORY_ID,
      owner: OWNER,
      name: NAME,
      checkSuiteId: Math.floor(Math.random() * 1_000_000) + 1,
      headBranch: 'agent/fix',
      headSha: sha(),
      conclusion,
      pullRequestNumbers: [7],
      taskIds,
    },
    { source: 'github', aggregateId: REPOSITORY_ID },
  );
}

const concluded = (taskId: string) =>
  waitFor(
    async () => {
      const fix = await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { taskId } });
      return fix && fix.status !== 'REQUESTED' ? fix : undefined;
    },
    { message: `the fix of ${taskId} concluded` },
  );

describe('ChecksCompleted on a fix pull request', () => {
  it('counts a green check suite as FIXED and a red one as FAILED, like a workflow run', async () => {
    const green = await requestedFix();
    const red = await requestedFix();
    // A null conclusion and checks of a task that is no fix come first (same key, in order) and change nothing.
    await h.publish(checks([green.taskId], null), checks([randomUUID()], 'FAILURE'));
    await h.publish(checks([green.taskId], 'SUCCESS'), checks([red.taskId], 'FAILURE'));
    expect(await concluded(green.taskId)).toMatchObject({ status: 'FIXED' });
    expect(await concluded(red.taskId)).toMatchObject({ status: 'FAILED' });
    // A redelivered suite changes nothing: a concluded fix stays concluded.
    const redelivered = [checks([green.taskId], 'FAILURE'), checks([red.taskId], 'SUCCESS')];
    await h.publish(...redelivered);
    // Only once cicd has consumed both (their processed-marks exist) does what follows prove anything.
    await waitFor(
      async () =>
        (await h.cicd.deps.prisma.processedEvent.count({
          where: { eventId: { in: redelivered.map((event) => event.id) } },
        })) === redelivered.length
          ? true
          : undefined,
      { message: 'the redelivered suites consumed' },
    );
    const stats = await waitFor(async () => {
      const result = await h.call(
        `query ($r: String) { ciFixStats(repository: $r) { requested fixed failed fixRate } }`,
        { r: REPOSITORY },
        owner,
      );
      return result.data?.ciFixStats as { fixed: number; failed: number; fixRate: number } | undefined;
    });
    expect(stats).toMatchObject({ fixed: 1, failed: 1, fixRate: 0.5 });
    const fixes = await h.cicd.deps.prisma.fixAttempt.findMany({
      where: { taskId: { in: [green.taskId, red.taskId] } },
    });
    expect(fixes.map((fix) => fix.status).sort()).toEqual(['FAILED', 'FIXED']);
  });

  it("concludes the fix when the poll recorded its pull request's green run first and the webhook names the task after", async () => {
    const { taskId } = await requestedFix();
    const run = fakeRun({ branch: 'agent/fix', sha: sha(), conclusion: 'success', pullRequests: [7] });
    h.actions.addRun(REPOSITORY, run);
    // The poll sees the completed run first: GitHub's run list knows no task ids.
    const polled = await recordRun(
      h.cicd.deps,
      factsOfApiRun(REPOSITORY, h.actions.runPayload(REPOSITORY, run) as never),
      'POLL',
    );
    expect(polled.build.taskIds).toEqual([]);
    // The github subgraph's event of the same run names the fix's task (its pull request's).
    await h.publish(runCompletedEvent(run, { id: REPOSITORY_ID, owner: OWNER, name: NAME }, [taskId]));
    expect(await concluded(taskId)).toMatchObject({ status: 'FIXED' });
    expect(
      await h.cicd.deps.prisma.build.count({ where: { repository: REPOSITORY, runId: BigInt(run.id) } }),
    ).toBe(1);
  });
});
