import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { TaskCompleted } from '@cap/events';
import type { FakeGithub } from '@cap/testkit';

/** A TaskCompleted of `taskId` as orchestration publishes it (payload fields overridable). */
export function taskCompleted(
  taskId: string,
  patch: Partial<ReturnType<typeof TaskCompleted.parse>['payload']> = {},
) {
  return TaskCompleted.create(
    {
      taskId,
      executionId: randomUUID(),
      attempt: 1,
      summary: 'Fixed `sum` to add.',
      changedFiles: 1,
      pullRequestUrl: null,
      durationMs: 1234,
      repository: 'acme/widgets',
      title: 'Fix the sum',
      branch: `cap/task-${taskId.slice(0, 8)}`,
      commitSha: 'a'.repeat(40),
      diffStats: { filesChanged: 1, additions: 1, deletions: 1 },
      verification: { passed: true, command: 'npm test' },
      ...patch,
    },
    { source: 'orchestration', aggregateId: taskId },
  );
}

/** Creates `branch` on the fake's `owner/name` from `main` (as if the agent had pushed it). */
export function pushBranch(fake: FakeGithub, branch: string, owner = 'acme', name = 'widgets'): void {
  execFileSync('git', ['branch', branch, 'main'], {
    cwd: `${fake.gitRoot}/${owner}/${name}.git`,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
}
