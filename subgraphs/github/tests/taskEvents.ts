import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** Pushes one commit writing `files` on top of `main` to `branch` of the fake's `owner/name`; returns its sha. */
export function pushCommit(
  fake: FakeGithub,
  branch: string,
  files: Record<string, string>,
  owner = 'acme',
  name = 'widgets',
): string {
  const work = mkdtempSync(join(tmpdir(), 'cap-github-commit-'));
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: work,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Agent',
    GIT_AUTHOR_EMAIL: 'agent@localhost',
    GIT_COMMITTER_NAME: 'Agent',
    GIT_COMMITTER_EMAIL: 'agent@localhost',
  };
  const bare = `${fake.gitRoot}/${owner}/${name}.git`;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env, encoding: 'utf8' }).trim();
  try {
    git('clone', '--quiet', bare, '.');
    const existing = git('ls-remote', '--heads', 'origin', branch);
    git('checkout', '--quiet', '-B', branch, existing ? `origin/${branch}` : 'origin/main');
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    git('add', '-A');
    git('commit', '--quiet', '-m', 'The agent’s change');
    git('push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`);
    return git('rev-parse', 'HEAD');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The payload of a completed `check_suite` webhook of acme/widgets: the suite of `branch`'s head commit, attached to
 * pull request `number` (what the github subgraph reads of it; `sampleWebhookPayload` fills in the rest).
 */
export function checkSuiteCompleted(options: {
  branch: string;
  number: number;
  conclusion: 'success' | 'failure';
}): Record<string, unknown> {
  const repo = { id: 1, name: 'widgets', url: 'https://github.example/r' };
  return {
    action: 'completed',
    repository: { name: 'widgets', owner: { login: 'acme' } },
    check_suite: {
      id: 9,
      head_sha: 'd'.repeat(40),
      head_branch: options.branch,
      conclusion: options.conclusion,
      pull_requests: [
        {
          id: 4100,
          number: options.number,
          url: `https://github.example/api/v3/repos/acme/widgets/pulls/${options.number}`,
          head: { ref: options.branch, sha: 'd'.repeat(40), repo },
          base: { ref: 'main', sha: 'f'.repeat(40), repo },
        },
      ],
    },
  };
}

/**
 * Someone opens a pull request from `branch` on the fake GitHub with their own token (not the platform's), after
 * pushing the branch; returns its number and the id of the `opened` delivery, which the fake sends (and the
 * subgraph accepts) before it answers them.
 */
export async function openPullByHand(
  fake: FakeGithub,
  branch: string,
  title: string,
): Promise<{ number: number; deliveryId: string }> {
  pushBranch(fake, branch);
  const token = fake.issueToken({ kind: 'pat', login: 'someone' });
  const created = await fetch(`${fake.apiUrl}/repos/acme/widgets/pulls`, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, head: branch, base: 'main' }),
  });
  if (created.status !== 201)
    throw new Error(`opening a pull request from ${branch}: HTTP ${created.status}`);
  const { number } = (await created.json()) as { number: number };
  const sent = fake.webhooksSent.at(-1);
  if (sent?.event !== 'pull_request' || sent.action !== 'opened' || sent.status !== 202)
    throw new Error(
      `expected an accepted opened delivery for ${branch}, the fake sent ${JSON.stringify(sent)}`,
    );
  return { number, deliveryId: sent.id };
}
