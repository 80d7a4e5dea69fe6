import { randomUUID } from 'node:crypto';
import { BranchPushed, PullRequestMerged, PullRequestOpened, TaskCompleted } from '@cap/events';
import { KafkaEventBus } from '@cap/messaging';
import { kafkaBrokersFromEnv, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeRun } from '@cap/testkit';
import { fakeRun, runCompletedEvent, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * The fix loop end to end on real PostgreSQL and Kafka with the fake GitHub: a failing run reported by the github
 * subgraph's event AND seen by the poll is recorded once, its log fetched (through GitHub's redirect) and parsed,
 * and ONE fix task is created by orchestration on behalf of the policy's user; the fix's green run counts it as
 * fixed, its merge as accepted; after two failed fixes of the same failure the next one is escalated, no task.
 */
const OWNER = 'acme';
const NAME = `widgets-${randomUUID().slice(0, 8)}`;
const REPOSITORY = `${OWNER}/${NAME}`;
const REPOSITORY_ID = randomUUID();
const alice = userPrincipal('DEVELOPER');
let h: CicdHarness;

beforeAll(async () => {
  const bus = new KafkaEventBus({ brokers: kafkaBrokersFromEnv(), clientId: 'cicd-fix-loop' });
  h = await startCicdHarness({ bus, orchestration: true });
  await Promise.all([h.cicd.consumerReady, h.orchestration!.fixRequestConsumerReady]);
}, 60_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const SET_POLICY = /* GraphQL */ `
  mutation ($input: SetFixPolicyInput!) {
    setFixPolicy(input: $input) {
      repository
      mode
      branches
      enabledBy
    }
  }
`;

const completed = (run: FakeRun, taskIds: string[] = []) =>
  runCompletedEvent(run, { id: REPOSITORY_ID, owner: OWNER, name: NAME }, taskIds);

const attemptOf = (run: FakeRun) =>
  h.cicd.deps.prisma.build
    .findFirst({ where: { repository: REPOSITORY, runId: BigInt(run.id) }, include: { failures: true } })
    .then(async (build) =>
      build ? await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { buildId: build.id } }) : null,
    );

const tasksOfAlice = () =>
  h.orchestration!.deps.prisma.codingTask.findMany({
    where: { creatorId: alice.userId },
    orderBy: { createdAt: 'asc' },
  });

/** A failing run seen by the webhook path, its fix task created and answered back (FixTaskCreated). */
async function failAndGetTask(
  branch: string,
): Promise<{ run: FakeRun; taskId: string | null; status: string }> {
  const run = fakeRun({ branch, sha: sha() });
  h.actions.addRun(REPOSITORY, run);
  await h.publish(completed(run));
  const attempt = await waitFor(
    async () => {
      const found = await attemptOf(run);
      return found && (found.status !== 'REQUESTED' || found.taskId) ? found : undefined;
    },
    { timeoutMs: 30_000, message: `a decision about run ${run.id}` },
  );
  return { run, taskId: attempt.taskId, status: attempt.status };
}

/** The fix's pull request runs its checks and they conclude `conclusion`. */
async function fixChecks(taskId: string, conclusion: 'success' | 'failure'): Promise<void> {
  const run = fakeRun({ branch: `cap/task-${taskId.slice(0, 8)}`, sha: sha(), conclusion });
  await h.publish(completed(run, [taskId]));
  await waitFor(
    async () => {
      const attempt = await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { taskId } });
      return attempt && attempt.status !== 'REQUESTED' ? attempt : undefined;
    },
    { timeoutMs: 30_000, message: `the fix of ${taskId} concluded` },
  );
}

describe('the CI fix loop', () => {
  it('records a run seen by the webhook and the poll once, parses its log and has ONE fix task created', async () => {
    const policy = await h.call(
      SET_POLICY,
      {
        input: {
          repository: REPOSITORY,
          mode: 'AUTO',
          branches: ['main', 'feature/*'],
          maxAttemptsPerFingerprint: 10,
          maxAttemptsPerPullRequest: 10,
        },
      },
      alice,
    );
    expect(policy.errors).toBeUndefined();
    expect(policy.data?.setFixPolicy).toMatchObject({ mode: 'AUTO', enabledBy: alice.userId });

    const run = fakeRun({ branch: 'feature/totals', sha: sha() });
    h.actions.addRun(REPOSITORY, run);
    // Both paths at once, and the webhook's event delivered twice.
    await Promise.all([h.publish(completed(run)), h.cicd.poller.pollNow(), h.publish(completed(run))]);
    const attempt = await waitFor(async () => ((await attemptOf(run))?.taskId ? attemptOf(run) : undefined), {
      timeoutMs: 30_000,
      message: 'the fix task of the first failure',
    });
    expect(attempt).toMatchObject({
      status: 'REQUESTED',
      branch: 'feature/totals',
      requestedBy: alice.userId,
    });

    const builds = await h.cicd.deps.prisma.build.findMany({
      where: { repository: REPOSITORY, runId: BigInt(run.id) },
    });
    expect(builds).toHaveLength(1);
    const build = await h.call(
      /* GraphQL */ `
        query ($id: ID!) {
          build(id: $id) {
            conclusion
            logState
            jobs {
              name
              conclusion
              steps {
                name
              }
            }
            failures {
              tool
              file
              line
              message
              fingerprint
              excerpt
            }
            fix {
              status
              taskId
            }
          }
        }
      `,
      { id: builds[0]!.id },
      alice,
    );
    expect(build.errors).toBeUndefined();
    expect(build.data?.build).toMatchObject({
      conclusion: 'FAILURE',
      logState: 'PARSED',
      jobs: [{ name: 'typecheck', conclusion: 'failure', steps: [{ name: 'Run npx tsc --noEmit' }] }],
      failures: [{ tool: 'tsc', file: 'src/total.ts', line: 3 }],
      fix: { status: 'REQUESTED', taskId: attempt!.taskId },
    });

    const tasks = await tasksOfAlice();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.id).toBe(attempt!.taskId);
    expect(tasks[0]!.description).toContain('feature/totals');
    expect(tasks[0]!.description).toContain("Type 'string' is not assignable to type 'number'.");
    expect(tasks[0]!.strategyOverride).toBeNull();

    // A later poll (304 now) and a redelivery change nothing.
    await h.cicd.poller.pollNow();
    expect(await h.cicd.deps.prisma.fixAttempt.count({ where: { repository: REPOSITORY } })).toBe(1);
    expect(await tasksOfAlice()).toHaveLength(1);
    expect(h.github.violations).toEqual([]);
  });

  it("counts the fix as fixed when its pull request's checks pass, and accepted when it is merged", async () => {
    const [task] = await tasksOfAlice();
    const pull = {
      repositoryId: REPOSITORY_ID,
      owner: OWNER,
      name: NAME,
      pullRequestId: randomUUID(),
      number: 12,
      url: `https://github.example/${REPOSITORY}/pull/12`,
      title: 'Fix failing CI',
      state: 'OPEN' as const,
      draft: false,
      headBranch: `cap/task-${task!.id.slice(0, 8)}`,
      headSha: sha(),
      baseBranch: 'feature/totals',
      taskId: task!.id,
    };
    await h.publish(PullRequestOpened.create(pull, { source: 'github', aggregateId: REPOSITORY_ID }));
    // What the fix's execution cost (orchestration's TaskCompleted).
    await h.publish(
      TaskCompleted.create(
        {
          taskId: task!.id,
          executionId: randomUUID(),
          attempt: 1,
          summary: 'fixed the type',
          changedFiles: 1,
          pullRequestUrl: pull.url,
          durationMs: 1_000,
          costUsd: 0.42,
        },
        { source: 'orchestration', aggregateId: task!.id },
      ),
    );
    await waitFor(
      async () =>
        (await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { taskId: task!.id } }))?.costUsd === 0.42 ||
        undefined,
      { timeoutMs: 30_000, message: "the fix's cost" },
    );
    await fixChecks(task!.id, 'success');
    await h.publish(
      PullRequestMerged.create(
        { ...pull, state: 'MERGED', mergeCommitSha: sha() },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    const accepted = await waitFor(
      async () => {
        const attempt = await h.cicd.deps.prisma.fixAttempt.findUnique({ where: { taskId: task!.id } });
        return attempt?.status === 'ACCEPTED' ? attempt : undefined;
      },
      { timeoutMs: 30_000, message: 'the fix accepted' },
    );
    expect(accepted.fixPullRequest).toBe(12);
    const stats = await h.call(
      /* GraphQL */ `
        query ($r: String) {
          ciFixStats(repository: $r) {
            requested
            fixed
            accepted
            failed
            fixRate
            meanTimeToGreenMs
          }
        }
      `,
      { r: REPOSITORY },
      alice,
    );
    expect(stats.data?.ciFixStats).toMatchObject({
      requested: 1,
      fixed: 1,
      accepted: 1,
      failed: 0,
      fixRate: 1,
    });
    expect(stats.data?.ciFixStats.meanTimeToGreenMs).toBeGreaterThanOrEqual(0);
  });

  it('escalates a failure that failed to be fixed twice: FixEscalated, no third task', async () => {
    const second = await failAndGetTask('feature/totals');
    expect(second.status).toBe('REQUESTED');
    await fixChecks(second.taskId!, 'failure');
    const third = await failAndGetTask('feature/totals');
    expect(third.status).toBe('REQUESTED');
    await fixChecks(third.taskId!, 'failure');

    const fourth = await failAndGetTask('feature/totals');
    expect(fourth).toMatchObject({ status: 'ESCALATED', taskId: null });
    const escalated = await attemptOf(fourth.run);
    expect(escalated!.reason).toMatch(/failed to be fixed 2 times/);
    // The first fix succeeded; the two failed ones are the only other tasks.
    expect(await tasksOfAlice()).toHaveLength(3);
    const stats = await h.call(
      /* GraphQL */ `
        {
          ciFixStats {
            escalated
            failed
          }
        }
      `,
      {},
      alice,
    );
    expect(stats.data?.ciFixStats.escalated).toBeGreaterThanOrEqual(1);
  });

  it('asks no fix for a commit a newer push superseded, nor for branches outside the policy', async () => {
    const newer = sha();
    await h.publish(
      BranchPushed.create(
        {
          repositoryId: REPOSITORY_ID,
          owner: OWNER,
          name: NAME,
          branch: 'main',
          before: sha(),
          after: newer,
          forced: false,
          deleted: false,
          commits: 1,
          pusher: 'someone',
        },
        { source: 'github', aggregateId: REPOSITORY_ID },
      ),
    );
    await waitFor(
      () =>
        h.cicd.deps.prisma.branchHead
          .findUnique({ where: { repository_branch: { repository: REPOSITORY, branch: 'main' } } })
          .then((head) => head?.headSha === newer),
      { timeoutMs: 30_000, message: 'the push noted' },
    );
    const stale = await failAndGetTask('main');
    expect(stale).toMatchObject({ status: 'SUPERSEDED', taskId: null });

    const outside = fakeRun({ branch: 'experiments/x', sha: sha() });
    h.actions.addRun(REPOSITORY, outside);
    await h.publish(completed(outside));
    await waitFor(
      () =>
        h.cicd.deps.prisma.build
          .findFirst({ where: { repository: REPOSITORY, runId: BigInt(outside.id) } })
          .then((build) => build?.logState === 'PARSED'),
      { timeoutMs: 30_000, message: 'the outside run parsed' },
    );
    expect(await attemptOf(outside)).toBeNull();
    expect(await tasksOfAlice()).toHaveLength(3);
  });
});
