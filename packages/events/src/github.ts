import { z } from 'zod';
import { defineEvent } from './defineEvent.js';

/**
 * The github subgraph's events: repositories connected to the platform, and what GitHub's webhooks tell about
 * them (pushes, pull requests, reviews, checks, workflow runs, issues, installations). Other contexts react: the
 * CI/CD subgraph follows checks and workflow runs, orchestration and the dashboard follow pull requests.
 *
 * Payloads carry ids and facts, never secrets: no tokens, no webhook signatures, no raw webhook bodies.
 */

/** The github subgraph's topics, one per aggregate; every event's key is our repository id. */
export const GithubTopic = {
  repository: 'github.repository',
  pullRequest: 'github.pull-request',
  checks: 'github.checks',
  workflowRun: 'github.workflow-run',
  push: 'github.push',
  issue: 'github.issue',
  installation: 'github.installation',
} as const;

/** A repository as events name it: GitHub's coordinates and, when it is connected, our id. */
const repositoryRef = z.object({
  /** Our repository id (the github subgraph's), null when GitHub sent an event for one not connected. */
  repositoryId: z.uuid().nullable(),
  owner: z.string().min(1).max(100),
  name: z.string().min(1).max(100),
});

/** Pull request states as the graph shows them. */
export const PullRequestState = z.enum(['OPEN', 'CLOSED', 'MERGED']);
export type PullRequestState = z.infer<typeof PullRequestState>;

/** How checks or a workflow run concluded (GitHub's conclusions). */
export const CheckConclusion = z.enum([
  'SUCCESS',
  'FAILURE',
  'NEUTRAL',
  'CANCELLED',
  'SKIPPED',
  'TIMED_OUT',
  'ACTION_REQUIRED',
  'STALE',
  'STARTUP_FAILURE',
]);
export type CheckConclusion = z.infer<typeof CheckConclusion>;

/** A pull request's facts, shared by every `PullRequest*` event. */
const pullRequestFacts = repositoryRef.extend({
  /** Our pull request id. */
  pullRequestId: z.uuid(),
  number: z.number().int().positive(),
  url: z.string().url(),
  title: z.string().max(1_000),
  state: PullRequestState,
  draft: z.boolean(),
  headBranch: z.string().min(1).max(255),
  headSha: z.string().max(64).nullable(),
  baseBranch: z.string().min(1).max(255),
  /** The coding task the pull request was opened for, when the platform opened it. */
  taskId: z.uuid().nullable(),
});

export const RepositoryConnected = defineEvent({
  type: 'RepositoryConnected',
  version: 1,
  topic: GithubTopic.repository,
  description:
    'A GitHub repository was connected; tasks may name it and the platform opens pull requests on it.',
  payload: repositoryRef.extend({
    repositoryId: z.uuid(),
    connectedBy: z.uuid().nullable(),
    defaultBranch: z.string().min(1).max(255),
    visibility: z.enum(['PUBLIC', 'PRIVATE', 'INTERNAL']),
    /** How the platform reaches it: a GitHub App installation, a personal access token or a user's OAuth token. */
    access: z.enum(['APP', 'TOKEN', 'OAUTH']),
  }),
});

export const RepositoryDisconnected = defineEvent({
  type: 'RepositoryDisconnected',
  version: 1,
  topic: GithubTopic.repository,
  description: 'A repository was disconnected (by a user, or its App installation lost access).',
  payload: repositoryRef.extend({ repositoryId: z.uuid(), disconnectedBy: z.uuid().nullable() }),
});

export const BranchPushed = defineEvent({
  type: 'BranchPushed',
  version: 1,
  topic: GithubTopic.push,
  description: 'Commits were pushed to a branch (GitHub `push`).',
  payload: repositoryRef.extend({
    branch: z.string().min(1).max(255),
    before: z.string().max(64),
    after: z.string().max(64),
    forced: z.boolean(),
    deleted: z.boolean(),
    commits: z.number().int().nonnegative(),
    pusher: z.string().max(100).nullable(),
  }),
});

export const PullRequestOpened = defineEvent({
  type: 'PullRequestOpened',
  version: 1,
  topic: GithubTopic.pullRequest,
  description: 'A pull request was opened (by the platform for a task, or on GitHub).',
  payload: pullRequestFacts,
});

export const PullRequestUpdated = defineEvent({
  type: 'PullRequestUpdated',
  version: 1,
  topic: GithubTopic.pullRequest,
  description: 'A pull request changed: new commits, title or body, draft state, reopened.',
  payload: pullRequestFacts.extend({ action: z.string().min(1).max(50) }),
});

export const PullRequestMerged = defineEvent({
  type: 'PullRequestMerged',
  version: 1,
  topic: GithubTopic.pullRequest,
  description: 'A pull request was merged.',
  payload: pullRequestFacts.extend({ mergeCommitSha: z.string().max(64).nullable() }),
});

export const PullRequestClosed = defineEvent({
  type: 'PullRequestClosed',
  version: 1,
  topic: GithubTopic.pullRequest,
  description: 'A pull request was closed without being merged.',
  payload: pullRequestFacts,
});

export const PullRequestReviewed = defineEvent({
  type: 'PullRequestReviewed',
  version: 1,
  topic: GithubTopic.pullRequest,
  description: 'A review was submitted on a pull request.',
  payload: pullRequestFacts.extend({
    reviewer: z.string().max(100).nullable(),
    reviewState: z.enum(['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED', 'PENDING']),
  }),
});

export const ChecksCompleted = defineEvent({
  type: 'ChecksCompleted',
  version: 1,
  topic: GithubTopic.checks,
  description: 'A check suite completed on a commit (GitHub `check_suite` completed).',
  payload: repositoryRef.extend({
    checkSuiteId: z.number().int().positive(),
    headBranch: z.string().max(255).nullable(),
    headSha: z.string().max(64),
    conclusion: CheckConclusion.nullable(),
    pullRequestNumbers: z.array(z.number().int().positive()).max(100),
    /** The coding tasks whose pull requests these checks ran on. */
    taskIds: z.array(z.uuid()).max(100),
  }),
});

const workflowRunFacts = repositoryRef.extend({
  runId: z.number().int().positive(),
  runAttempt: z.number().int().positive(),
  workflowId: z.number().int().positive(),
  workflowName: z.string().max(500).nullable(),
  event: z.string().max(100),
  headBranch: z.string().max(255).nullable(),
  headSha: z.string().max(64),
  status: z.string().max(50).nullable(),
  conclusion: CheckConclusion.nullable(),
  htmlUrl: z.string().url(),
  pullRequestNumbers: z.array(z.number().int().positive()).max(100),
  taskIds: z.array(z.uuid()).max(100),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
});

export const WorkflowRunUpdated = defineEvent({
  type: 'WorkflowRunUpdated',
  version: 1,
  topic: GithubTopic.workflowRun,
  description: 'A GitHub Actions workflow run was requested or is in progress.',
  payload: workflowRunFacts,
});

export const WorkflowRunCompleted = defineEvent({
  type: 'WorkflowRunCompleted',
  version: 1,
  topic: GithubTopic.workflowRun,
  description: 'A GitHub Actions workflow run completed; `conclusion` says how.',
  payload: workflowRunFacts,
});

export const IssueUpdated = defineEvent({
  type: 'IssueUpdated',
  version: 1,
  topic: GithubTopic.issue,
  description: 'An issue was opened, edited, closed, reopened or relabelled (GitHub `issues`).',
  payload: repositoryRef.extend({
    number: z.number().int().positive(),
    action: z.string().min(1).max(50),
    title: z.string().max(1_000),
    state: z.enum(['OPEN', 'CLOSED']),
    url: z.string().url(),
  }),
});

export const IssueCommented = defineEvent({
  type: 'IssueCommented',
  version: 1,
  topic: GithubTopic.issue,
  description: 'A comment was made on an issue or a pull request (GitHub `issue_comment`).',
  payload: repositoryRef.extend({
    number: z.number().int().positive(),
    commentId: z.number().int().positive(),
    author: z.string().max(100).nullable(),
    isPullRequest: z.boolean(),
    url: z.string().url(),
  }),
});

export const InstallationChanged = defineEvent({
  type: 'InstallationChanged',
  version: 1,
  topic: GithubTopic.installation,
  description: 'The GitHub App was installed, removed, suspended, or its repository selection changed.',
  payload: z.object({
    installationId: z.number().int().positive(),
    action: z.string().min(1).max(50),
    account: z.string().max(100).nullable(),
    repositoriesAdded: z.array(z.string().max(201)).max(1_000),
    repositoriesRemoved: z.array(z.string().max(201)).max(1_000),
  }),
});

/** Every github contract, for the registry. */
export const githubContracts = [
  RepositoryConnected,
  RepositoryDisconnected,
  BranchPushed,
  PullRequestOpened,
  PullRequestUpdated,
  PullRequestMerged,
  PullRequestClosed,
  PullRequestReviewed,
  ChecksCompleted,
  WorkflowRunUpdated,
  WorkflowRunCompleted,
  IssueUpdated,
  IssueCommented,
  InstallationChanged,
] as const;
