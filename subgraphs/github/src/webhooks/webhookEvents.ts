import {
  BranchPushed,
  CheckConclusion,
  ChecksCompleted,
  InstallationChanged,
  IssueCommented,
  IssueUpdated,
  PullRequestOpened,
  PullRequestReviewed,
  PullRequestUpdated,
  WorkflowRunCompleted,
  WorkflowRunUpdated,
  type Envelope,
} from '@cap/events';
import { z } from 'zod';
import type { Repository } from '../generated/prisma/client.js';
import type { Tx } from '../domain/deps.js';
import { stateChangeEvent } from '../domain/pullRequestChanges.js';
import { claimOpenedEvent, storePullLocked } from '../domain/pullRequestStore.js';
import { pullRequestFacts } from '../domain/pullRequests.js';
import { EVENT_SOURCE } from '../domain/repositories.js';
import { fullNameKey } from '../domain/validation.js';

/** The parts of GitHub's payloads this subgraph reads; GitHub sends far more, which is ignored. */
const repo = z.object({ name: z.string(), owner: z.object({ login: z.string() }) });
const pull = z.object({
  number: z.number().int().positive(),
  html_url: z.string(),
  title: z.string(),
  state: z.string(),
  draft: z.boolean().optional(),
  merged: z.boolean().nullish(),
  merged_at: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  mergeable: z.boolean().nullish(),
  head: z.object({ ref: z.string(), sha: z.string(), label: z.string().optional() }),
  base: z.object({ ref: z.string() }),
});
const conclusion = z
  .string()
  .nullish()
  .transform((value) => {
    // GitHub's conclusions as the event contract lists them; one it adds later is not known yet: null.
    const known = CheckConclusion.safeParse(value?.toUpperCase());
    return known.success ? known.data : null;
  });
const prNumbers = z
  .array(z.object({ number: z.number().int().positive() }))
  .max(100)
  .default([]);
const PAYLOADS = {
  push: z.object({
    ref: z.string(),
    before: z.string(),
    after: z.string(),
    forced: z.boolean().default(false),
    deleted: z.boolean().default(false),
    commits: z.array(z.unknown()).default([]),
    pusher: z.object({ name: z.string().nullish() }).nullish(),
    repository: repo,
  }),
  pull_request: z.object({ action: z.string(), pull_request: pull, repository: repo }),
  pull_request_review: z.object({
    action: z.string(),
    review: z.object({ state: z.string(), user: z.object({ login: z.string() }).nullish() }),
    pull_request: pull,
    repository: repo,
  }),
  check_suite: z.object({
    action: z.string(),
    check_suite: z.object({
      id: z.number().int().positive(),
      head_branch: z.string().nullish(),
      head_sha: z.string(),
      conclusion,
      pull_requests: prNumbers,
    }),
    repository: repo,
  }),
  workflow_run: z.object({
    action: z.string(),
    workflow_run: z.object({
      id: z.number().int().positive(),
      run_attempt: z.number().int().positive().default(1),
      workflow_id: z.number().int().positive(),
      name: z.string().nullish(),
      event: z.string(),
      head_branch: z.string().nullish(),
      head_sha: z.string(),
      status: z.string().nullish(),
      conclusion,
      html_url: z.string(),
      pull_requests: prNumbers,
      run_started_at: z.string().nullish(),
      updated_at: z.string().nullish(),
    }),
    repository: repo,
  }),
  issues: z.object({
    action: z.string(),
    issue: z.object({
      number: z.number().int().positive(),
      title: z.string(),
      state: z.string(),
      html_url: z.string(),
    }),
    repository: repo,
  }),
  issue_comment: z.object({
    action: z.string(),
    issue: z.object({ number: z.number().int().positive(), pull_request: z.unknown().optional() }),
    comment: z.object({
      id: z.number().int().positive(),
      html_url: z.string(),
      user: z.object({ login: z.string() }).nullish(),
    }),
    repository: repo,
  }),
  installation: z.object({
    action: z.string(),
    installation: z.object({
      id: z.number().int().positive(),
      account: z.object({ login: z.string() }).nullish(),
    }),
    repositories: z.array(z.object({ full_name: z.string() })).nullish(),
  }),
  installation_repositories: z.object({
    action: z.string(),
    installation: z.object({
      id: z.number().int().positive(),
      account: z.object({ login: z.string() }).nullish(),
    }),
    repositories_added: z.array(z.object({ full_name: z.string() })).default([]),
    repositories_removed: z.array(z.object({ full_name: z.string() })).default([]),
  }),
};

/** A payload GitHub signed but this subgraph cannot read: recorded as failed, never retried. */
export class MalformedDeliveryError extends Error {
  override readonly name = 'MalformedDeliveryError';
}

function parse<K extends keyof typeof PAYLOADS>(event: K, payload: unknown): z.output<(typeof PAYLOADS)[K]> {
  const result = PAYLOADS[event].safeParse(payload);
  if (!result.success)
    throw new MalformedDeliveryError(`${event}: ${result.error.issues[0]?.message ?? 'malformed'}`);
  return result.data as z.output<(typeof PAYLOADS)[K]>;
}

const iso = (value: string | null | undefined): string | null => {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

/**
 * Turns one stored delivery into the subgraph's state changes and domain events, inside `tx`. Events about a
 * repository that is not connected carry `repositoryId: null`; pull request events need a connected repository
 * (they carry our pull request id) and are skipped otherwise. `check_run` is acknowledged without an event: the
 * suite's completion (`ChecksCompleted`) summarises the runs.
 */
export async function eventsOfDelivery(tx: Tx, event: string, payload: unknown): Promise<Envelope[]> {
  const connected = async (r: { name: string; owner: { login: string } }): Promise<Repository | null> =>
    tx.repository.findUnique({ where: { fullNameKey: fullNameKey(r.owner.login, r.name) } });
  const ref = (repository: Repository | null, r: { name: string; owner: { login: string } }) => ({
    repositoryId: repository?.id ?? null,
    owner: r.owner.login.slice(0, 100),
    name: r.name.slice(0, 100),
  });
  const meta = (repository: Repository | null, r: { name: string; owner: { login: string } }) => ({
    source: EVENT_SOURCE,
    aggregateId: repository?.id ?? fullNameKey(r.owner.login, r.name).slice(0, 200),
  });
  const tasksOf = async (repository: Repository | null, numbers: number[]): Promise<string[]> => {
    if (!repository || numbers.length === 0) return [];
    const rows = await tx.pullRequest.findMany({
      where: { repositoryId: repository.id, number: { in: numbers }, taskId: { not: null } },
      select: { taskId: true },
    });
    return rows.flatMap((row) => (row.taskId ? [row.taskId] : []));
  };
  switch (event) {
    case 'push': {
      const p = parse('push', payload);
      if (!p.ref.startsWith('refs/heads/')) return [];
      const repository = await connected(p.repository);
      return [
        BranchPushed.create(
          {
            ...ref(repository, p.repository),
            branch: p.ref.slice('refs/heads/'.length).slice(0, 255),
            before: p.before.slice(0, 64),
            after: p.after.slice(0, 64),
            forced: p.forced,
            deleted: p.deleted,
            commits: p.commits.length,
            pusher: p.pusher?.name?.slice(0, 100) ?? null,
          },
          meta(repository, p.repository),
        ),
      ];
    }
    case 'pull_request':
    case 'pull_request_review': {
      const p = parse(event, payload);
      const repository = await connected(p.repository);
      if (!repository) return [];
      const stored = await storePullLocked(tx, repository, p.pull_request);
      const { saved } = stored;
      const facts = pullRequestFacts(repository, saved);
      const m = meta(repository, p.repository);
      if (event === 'pull_request_review') {
        const review = (p as z.output<(typeof PAYLOADS)['pull_request_review']>).review;
        const state = review.state.toUpperCase();
        if (p.action !== 'submitted' && p.action !== 'dismissed') return [];
        const reviewState = (
          ['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED', 'PENDING'] as const
        ).find((s) => s === state);
        return [
          PullRequestReviewed.create(
            {
              ...facts,
              reviewer: review.user?.login.slice(0, 100) ?? null,
              reviewState: reviewState ?? 'COMMENTED',
            },
            m,
          ),
        ];
      }
      // Opened once, whichever of this delivery and the task path stores the pull request first; processed
      // first, this delivery linked the task that reserved the head branch, so its event carries the task.
      if (p.action === 'opened')
        return (await claimOpenedEvent(tx, saved.id)) ? [PullRequestOpened.create(facts, m)] : [];
      // Closing and reopening are state changes: recorded once, whichever of this delivery, the poller
      // (jobs/pullRequestReconciler.ts) and the mutation that made the change stores it first.
      if (p.action === 'closed' || p.action === 'reopened') {
        const change = stateChangeEvent(repository, stored);
        return change ? [change] : [];
      }
      return [PullRequestUpdated.create({ ...facts, action: p.action.slice(0, 50) }, m)];
    }
    case 'check_suite': {
      const p = parse('check_suite', payload);
      if (p.action !== 'completed') return [];
      const repository = await connected(p.repository);
      const numbers = p.check_suite.pull_requests.map((pr) => pr.number);
      if (repository && numbers.length > 0)
        await tx.pullRequest.updateMany({
          where: { repositoryId: repository.id, number: { in: numbers } },
          data: { checksConclusion: p.check_suite.conclusion },
        });
      return [
        ChecksCompleted.create(
          {
            ...ref(repository, p.repository),
            checkSuiteId: p.check_suite.id,
            headBranch: p.check_suite.head_branch?.slice(0, 255) ?? null,
            headSha: p.check_suite.head_sha.slice(0, 64),
            conclusion: p.check_suite.conclusion,
            pullRequestNumbers: numbers,
            taskIds: await tasksOf(repository, numbers),
          },
          meta(repository, p.repository),
        ),
      ];
    }
    case 'workflow_run': {
      const p = parse('workflow_run', payload);
      const repository = await connected(p.repository);
      const run = p.workflow_run;
      const numbers = run.pull_requests.map((pr) => pr.number);
      const facts = {
        ...ref(repository, p.repository),
        runId: run.id,
        runAttempt: run.run_attempt,
        workflowId: run.workflow_id,
        workflowName: run.name?.slice(0, 500) ?? null,
        event: run.event.slice(0, 100),
        headBranch: run.head_branch?.slice(0, 255) ?? null,
        headSha: run.head_sha.slice(0, 64),
        status: run.status?.slice(0, 50) ?? null,
        conclusion: run.conclusion,
        htmlUrl: run.html_url,
        pullRequestNumbers: numbers,
        taskIds: await tasksOf(repository, numbers),
        startedAt: iso(run.run_started_at),
        updatedAt: iso(run.updated_at),
      };
      const contract = p.action === 'completed' ? WorkflowRunCompleted : WorkflowRunUpdated;
      return [contract.create(facts, meta(repository, p.repository))];
    }
    case 'issues': {
      const p = parse('issues', payload);
      const repository = await connected(p.repository);
      return [
        IssueUpdated.create(
          {
            ...ref(repository, p.repository),
            number: p.issue.number,
            action: p.action.slice(0, 50),
            title: p.issue.title.slice(0, 1_000),
            state: p.issue.state === 'closed' ? 'CLOSED' : 'OPEN',
            url: p.issue.html_url,
          },
          meta(repository, p.repository),
        ),
      ];
    }
    case 'issue_comment': {
      const p = parse('issue_comment', payload);
      if (p.action !== 'created') return [];
      const repository = await connected(p.repository);
      return [
        IssueCommented.create(
          {
            ...ref(repository, p.repository),
            number: p.issue.number,
            commentId: p.comment.id,
            author: p.comment.user?.login.slice(0, 100) ?? null,
            isPullRequest: p.issue.pull_request !== undefined,
            url: p.comment.html_url,
          },
          meta(repository, p.repository),
        ),
      ];
    }
    case 'installation':
    case 'installation_repositories': {
      const p = parse(event, payload);
      const names = (list: { full_name: string }[] | null | undefined) =>
        (list ?? []).slice(0, 1_000).map((r) => r.full_name.slice(0, 201));
      const added =
        'repositories_added' in p
          ? names(p.repositories_added)
          : p.action === 'created'
            ? names(p.repositories)
            : [];
      const removed =
        'repositories_removed' in p
          ? names(p.repositories_removed)
          : p.action === 'deleted'
            ? names(p.repositories)
            : [];
      return [
        InstallationChanged.create(
          {
            installationId: p.installation.id,
            action: p.action.slice(0, 50),
            account: p.installation.account?.login.slice(0, 100) ?? null,
            repositoriesAdded: added,
            repositoriesRemoved: removed,
          },
          { source: EVENT_SOURCE, aggregateId: `installation:${p.installation.id}` },
        ),
      ];
    }
    default:
      return [];
  }
}
