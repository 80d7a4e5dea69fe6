import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { GithubTopic, TaskCompleted } from '@cap/events';
import { toBusRecord } from '@cap/messaging';
import { consumeUntil, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';

let h: GithubHarness;

beforeAll(async () => {
  h = await startGithubHarness({}, { kafka: true });
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
  await h.github.consumerReady;
}, 90_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('through Kafka', () => {
  it('consumes TaskCompleted from orchestration.task and publishes PullRequestOpened on github.pull-request', async () => {
    const taskId = randomUUID();
    const branch = `cap/task-${taskId.slice(0, 8)}`;
    execFileSync('git', ['branch', branch, 'main'], {
      cwd: `${h.fake.gitRoot}/acme/widgets.git`,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
      },
    });
    const event = TaskCompleted.create(
      {
        taskId,
        executionId: randomUUID(),
        attempt: 1,
        summary: 'Done.',
        changedFiles: 1,
        pullRequestUrl: null,
        durationMs: 10,
        repository: 'acme/widgets',
        title: 'Through Kafka',
        branch,
      },
      { source: 'orchestration', aggregateId: taskId },
    );
    await h.bus.publish([toBusRecord(event)]);
    await waitFor(
      () => h.github.deps.prisma.pullRequest.findUnique({ where: { taskId } }).then((pr) => pr ?? false),
      {
        timeoutMs: 60_000,
        message: 'the pull request of the task',
      },
    );
    const records = await consumeUntil({
      topics: [GithubTopic.pullRequest],
      until: (read) => read.some((r) => r.value.includes(taskId) && r.value.includes('"PullRequestOpened"')),
      timeoutMs: 60_000,
    });
    const opened = records.find((r) => r.value.includes(taskId))!;
    expect(JSON.parse(opened.value)).toMatchObject({
      type: 'PullRequestOpened',
      payload: { taskId, owner: 'acme', name: 'widgets', headBranch: branch, state: 'OPEN' },
    });
    expect(h.fake.violations).toEqual([]);
  }, 120_000);
});
