import { randomUUID } from 'node:crypto';
import {
  BranchPushed,
  FixSuperseded,
  OrchestrationTopic,
  PullRequestOpened,
  PullRequestUpdated,
  TaskCompleted,
} from '@cap/events';
import { DlqHeader, dlqTopic, MemoryEventBus } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/domain/builds.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import { fakeRun, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * A newer push supersedes the pending fix: a REQUESTED fix whose task has not finished becomes SUPERSEDED and
 * orchestration cancels its task (FixSuperseded), exactly once; the fix's own commit and a finished task do not
 * supersede; orchestration cancels only the task the fix created.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const owner = userPrincipal('DEVELOPER');
const OWNER = 'acme';
const NAME = 'supersede';
const REPOSITORY = `${OWNER}/${NAME}`;
const REPOSITORY_ID = randomUUID();

beforeAll(async () => {
  h = await startCicdHarness({ bus, orchestration: true });
  await Promise.all([h.cicd.consumerReady, h.orchestration!.fixRequestConsumerReady]);
  const policy = await h.call(
    `mutation { setFixPolicy(input: { repository: "acme/supersede", mode: AUTO, maxAttemptsPerFingerprint: 10 }) { mode } }`,
    {},
    owner,
  );
  expect(policy.errors).toBeUndefined();
}, 60_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

/** A failed build on `branch` whose fix task orchestration created. */
async function requestedFix(branch: string) {
  const run = fakeRun({ branch, sha: sha() });
  h.actions.addRun(REPOSITORY, run);
  const api = h.actions.runPayload(REPOSITORY, run) as never;
  const recorded = await recordRun(h.cicd.deps, factsOfApiRun(REPOSITORY, api), 'POLL');
  await h.cicd.logs.process(recorded.build);
  return waitFor(
    async () => {
      const attempt = await h.cicd.deps.prisma.fixAttempt.findUnique({
        where: { buildId: recorded.build.id },
      });
      return attempt?.taskId ? { ...attempt, taskId: attempt.taskId } : undefined;
    },
    { message: `the fix task of ${branch}` },
  );
}

function pushed(branch: string, after: string) {
  return BranchPushed.create(
    {
      repositoryId: REPOSITORY_ID,
      owner: OWNER,
      name: NAME,
      branch,
      before: sha(),
      after,
      forced: false,
      deleted: false,
      commits: 1,
      pusher: 'someone',
    },
    { source: 'github', aggregateId: REPOSITORY_ID },
  );
}

/** Publishes a push on a marker branch after `events` (same key, in order) and waits until cicd consumed it. */
async function publishAndSettle(...events: Parameters<CicdHarness['publish']>): Promise<void> {
  const marker = sha();
  await h.publish(...events, pushed(`marker-${randomUUID().slice(0, 8)}`, marker));
  await waitFor(
    async () => (await h.cicd.deps.prisma.branchHead.findFirst({ where: { headSha: marker } })) ?? undefined,
    { message: 'the marker push consumed' },
  );
}

const taskOf = (id: string) => h.orchestration!.deps.prisma.codingTask.findUniqueOrThrow({ where: { id } });
const fixOf = (id: string) => h.cicd.deps.prisma.fixAttempt.findUniqueOrThrow({ where: { id } });
/** What orchestration's fix consumer dead-lettered (cicd's own consumer reads `cicd.fix` too). */
const orchestrationDeadLetters = () =>
  bus
    .records(dlqTopic(FixSuperseded.topic))
    .filter((record) => record.headers[DlqHeader.CONSUMER_GROUP] === 'orchestration.fix-requests');
const eventsOf = (topic: string, type: string, taskId: string) =>
  bus
    .records(topic)
    .map((record) => JSON.parse(record.value) as { type: string; payload: { taskId?: string } })
    .filter((event) => event.type === type && event.payload.taskId === taskId);

describe('a newer push supersedes the pending fix', () => {
  it('marks a requested fix SUPERSEDED and has orchestration cancel its task, once', async () => {
    const fix = await requestedFix('main');
    expect(fix.status).toBe('REQUESTED');
    expect((await taskOf(fix.taskId)).fixId).toBe(fix.id);
    const push = pushed('main', sha());
    // Delivered twice: one supersession, one cancellation.
    await h.publish(push, push);
    const cancelled = await waitFor(
      async () => {
        const task = await taskOf(fix.taskId);
        return task.status === 'CANCELLED' ? task : undefined;
      },
      { message: 'the fix task cancelled' },
    );
    expect(cancelled.creatorId).toBe(owner.userId);
    expect(await fixOf(fix.id)).toMatchObject({ status: 'SUPERSEDED', supersededBy: push.payload.after });
    await publishAndSettle(push);
    expect(eventsOf(FixSuperseded.topic, 'FixSuperseded', fix.taskId)).toHaveLength(1);
    await waitFor(
      () => eventsOf(OrchestrationTopic.task, 'TaskCancelled', fix.taskId).length === 1 || undefined,
    );
    expect(bus.records(dlqTopic(FixSuperseded.topic))).toHaveLength(0);
  });

  it("is not superseded by the fix's own commit, nor once its task finished", async () => {
    const fix = await requestedFix('release');
    const fixHead = sha();
    await h.publish(
      PullRequestOpened.create(
        {
          repositoryId: REPOSITORY_ID,
          owner: OWNER,
          name: NAME,
          pullRequestId: randomUUID(),
          number: 31,
          url: `https://github.example/${REPOSITORY}/pull/31`,
          title: 'Fix failing CI',
          state: 'OPEN',
          draft: false,
          headBranch: `agent/${fix.taskId}`,
          headSha: fixHead,
          baseBranch: 'release',
          taskId: fix.taskId,
        },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    // The pull request and the push travel on different topics: wait until cicd knows the fix's head first.
    await waitFor(async () => ((await fixOf(fix.id)).fixHeadSha === fixHead ? true : undefined), {
      message: "the fix's pull request head noted",
    });
    await publishAndSettle(pushed('release', fixHead));
    expect(await fixOf(fix.id)).toMatchObject({ status: 'REQUESTED', fixHeadSha: fixHead });

    await h.publish(
      TaskCompleted.create(
        {
          taskId: fix.taskId,
          executionId: randomUUID(),
          attempt: 1,
          summary: 'fixed',
          changedFiles: 1,
          pullRequestUrl: null,
          durationMs: 1_000,
          costUsd: 0.1,
        },
        { source: 'orchestration', aggregateId: fix.taskId },
      ),
    );
    await waitFor(async () => ((await fixOf(fix.id)).taskFinishedAt ? true : undefined), {
      message: 'the task noted finished',
    });
    await publishAndSettle(pushed('release', sha()));
    expect((await fixOf(fix.id)).status).toBe('REQUESTED');
    expect(eventsOf(FixSuperseded.topic, 'FixSuperseded', fix.taskId)).toHaveLength(0);
  });

  it('orchestration cancels only the task the fix created; malformed requests are dead-lettered', async () => {
    const fix = await requestedFix('hotfix');
    const base = {
      fixId: fix.id,
      repository: REPOSITORY,
      branch: 'hotfix',
      headSha: fix.headSha,
      taskId: fix.taskId,
      supersededBy: sha(),
    };
    const meta = { source: 'cicd', aggregateId: fix.id };
    const other = await requestedFix('other');
    const hostile = [
      // Another fix's id, a task that does not exist, another fix's task.
      FixSuperseded.create({ ...base, fixId: randomUUID() }, meta),
      FixSuperseded.create({ ...base, taskId: randomUUID() }, meta),
      FixSuperseded.create({ ...base, taskId: other.taskId }, meta),
    ];
    const malformed = FixSuperseded.create(base, meta);
    const poison = [
      { ...malformed, payload: { ...malformed.payload, taskId: 'not-a-task' } },
      { ...malformed, payload: { ...malformed.payload, supersededBy: 'x'.repeat(10_000) } },
    ] as (typeof malformed)[];
    await h.publish(...hostile, ...poison);
    await waitFor(() => orchestrationDeadLetters().length >= poison.length || undefined, {
      message: 'the poison dead-lettered',
    });
    // The genuine request after them (same key, in order): once it cancelled, the hostile ones were consumed.
    const genuine = FixSuperseded.create(base, meta);
    await h.publish(genuine);
    await waitFor(async () => ((await taskOf(fix.taskId)).status === 'CANCELLED' ? true : undefined), {
      message: 'the genuine request cancelled its task',
    });
    expect((await taskOf(other.taskId)).status).not.toBe('CANCELLED');
    // A redelivery (a new event id) of an already cancelled task: a no-op, not a dead letter.
    await h.publish(
      FixSuperseded.create(base, meta),
      FixSuperseded.create({ ...base, fixId: other.id, taskId: other.taskId }, meta),
    );
    await waitFor(async () => ((await taskOf(other.taskId)).status === 'CANCELLED' ? true : undefined), {
      message: "the other fix's task cancelled by its own request",
    });
    expect(eventsOf(OrchestrationTopic.task, 'TaskCancelled', fix.taskId).length).toBeLessThanOrEqual(1);
    expect(orchestrationDeadLetters()).toHaveLength(poison.length);
  });

  it("notes a pull request linked to the fix task later (task_linked) as the fix's, and ignores other updates", async () => {
    const fix = await requestedFix('linked');
    const facts = {
      repositoryId: REPOSITORY_ID,
      owner: OWNER,
      name: NAME,
      pullRequestId: randomUUID(),
      number: 57,
      url: `https://github.example/${REPOSITORY}/pull/57`,
      title: 'Opened by a person from the agent branch',
      state: 'OPEN' as const,
      draft: false,
      headBranch: `agent/${fix.taskId}`,
      headSha: sha(),
      baseBranch: 'linked',
      taskId: fix.taskId,
    };
    // Another update of the same pull request says nothing about the fix.
    await publishAndSettle(
      PullRequestUpdated.create(
        { ...facts, action: 'edited' },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    expect((await fixOf(fix.id)).fixPullRequest).toBeNull();
    await h.publish(
      PullRequestUpdated.create(
        { ...facts, action: 'task_linked' },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    await waitFor(async () => ((await fixOf(fix.id)).fixPullRequest === 57 ? true : undefined), {
      message: "the linked pull request noted as the fix's",
    });
    expect(await fixOf(fix.id)).toMatchObject({ fixHeadSha: facts.headSha, fixBranch: facts.headBranch });
  });
});
