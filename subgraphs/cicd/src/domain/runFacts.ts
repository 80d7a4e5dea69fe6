import type { EnvelopeOf, WorkflowRunCompleted } from '@cap/events';
import type { ApiRun } from './githubActions.js';

/** A workflow run's facts, whichever path (webhook event or Actions API poll) reported them. */
export interface RunFacts {
  /** `owner/name`, lower case. */
  repository: string;
  runId: number;
  runAttempt: number;
  workflowName: string | null;
  event: string;
  headBranch: string | null;
  headSha: string;
  /** GitHub's status, lower case (`queued`, `in_progress`, `completed`...). */
  status: string;
  /** GitHub's conclusion, upper case as the events spell it, null while running. */
  conclusion: string | null;
  htmlUrl: string;
  pullRequests: number[];
  taskIds: string[];
  startedAt: Date | null;
  updatedAt: Date | null;
}

/** Conclusions that make a run worth understanding and fixing. */
export const FAILED_CONCLUSIONS: ReadonlySet<string> = new Set(['FAILURE', 'TIMED_OUT']);

/** `owner/name` in the form cicd keys repositories by. */
export function repositoryKey(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}

/** Facts of a `WorkflowRunUpdated`/`WorkflowRunCompleted` event. */
export function factsOfEvent(payload: EnvelopeOf<typeof WorkflowRunCompleted>['payload']): RunFacts {
  return {
    repository: repositoryKey(payload.owner, payload.name),
    runId: payload.runId,
    runAttempt: payload.runAttempt,
    workflowName: payload.workflowName,
    event: payload.event,
    headBranch: payload.headBranch,
    headSha: payload.headSha,
    status: (payload.status ?? 'queued').toLowerCase(),
    conclusion: payload.conclusion,
    htmlUrl: safeRunUrl(payload.htmlUrl, payload.owner, payload.name, payload.runId),
    pullRequests: payload.pullRequestNumbers,
    taskIds: payload.taskIds,
    startedAt: payload.startedAt ? new Date(payload.startedAt) : null,
    updatedAt: payload.updatedAt ? new Date(payload.updatedAt) : null,
  };
}

/** Facts of a run the Actions API listed (the poller's path). */
export function factsOfApiRun(repository: string, run: ApiRun): RunFacts {
  return {
    repository,
    runId: run.id,
    runAttempt: run.run_attempt ?? 1,
    workflowName: run.name ?? null,
    event: run.event,
    headBranch: run.head_branch,
    headSha: run.head_sha,
    status: (run.status ?? 'queued').toLowerCase(),
    conclusion: run.conclusion ? run.conclusion.toUpperCase() : null,
    htmlUrl: safeRunUrl(run.html_url, ...(repository.split('/') as [string, string]), run.id),
    pullRequests: (run.pull_requests ?? []).map((pull) => pull.number),
    // The API does not know the platform's tasks; the webhook path (and pull requests' events) fill them in.
    taskIds: [],
    startedAt: run.run_started_at ? new Date(run.run_started_at) : null,
    updatedAt: new Date(run.updated_at),
  };
}

/**
 * The run's web address as given when it is http(s), else GitHub's address of the run: the graph hands it to
 * browsers, so a `javascript:` or `data:` URL from a hostile producer never reaches one.
 */
export function safeRunUrl(url: string, owner: string, name: string, runId: number): string {
  try {
    const parsed = new URL(url);
    if ((parsed.protocol === 'https:' || parsed.protocol === 'http:') && url.length <= 2_000) return url;
  } catch {
    // Falls through to GitHub's address.
  }
  return `https://github.com/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/actions/runs/${runId}`;
}
