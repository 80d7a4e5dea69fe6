import {
  createGithubClient,
  RepositoryTokenClient,
  type GithubOctokit,
  type SecretRedactor,
} from '@cap/github-client';

/** A workflow run as the Actions API lists it (the fields cicd reads). */
export interface ApiRun {
  id: number;
  run_attempt?: number;
  workflow_id: number;
  name?: string | null;
  event: string;
  head_branch: string | null;
  head_sha: string;
  status: string | null;
  conclusion: string | null;
  html_url: string;
  run_started_at?: string;
  updated_at: string;
  pull_requests: Array<{ number: number }> | null;
}

/** A job of a run as the Actions API lists it. */
export interface ApiJob {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  started_at: string;
  completed_at: string | null;
  steps?: Array<{
    name: string;
    number: number;
    status: string;
    conclusion: string | null;
    started_at?: string | null;
    completed_at?: string | null;
  }>;
}

/** The Actions API calls cicd makes, per repository (`owner/name`). */
export interface GithubActions {
  /** Recent runs; `etag` makes it conditional (`notModified` answers cost no rate limit). */
  listRuns(
    repository: string,
    etag: string | null,
  ): Promise<{ notModified: true } | { notModified: false; etag: string | null; runs: ApiRun[] }>;
  listJobs(repository: string, runId: number, attempt: number, max: number): Promise<ApiJob[]>;
  /** A job's plain-text log as a byte stream (GitHub redirects to its log storage; the redirect is followed). */
  jobLog(repository: string, jobId: number): Promise<ReadableStream<Uint8Array>>;
  /** An attempt's run-logs archive (a ZIP) as a byte stream (redirect followed, like {@link jobLog}). */
  runLogArchive(repository: string, runId: number, attempt: number): Promise<ReadableStream<Uint8Array>>;
}

/**
 * The Actions API through @cap/github-client (retries, throttling, timeouts). The token of each repository comes
 * from the github subgraph's repository-token route when `githubSubgraphUrl` is set, else from `token`.
 */
export function createGithubActions(options: {
  apiUrl: string;
  githubSubgraphUrl?: string | undefined;
  token?: string | undefined;
  internalTokenSecret: string;
  redactor?: SecretRedactor;
}): GithubActions {
  const grants = options.githubSubgraphUrl
    ? new RepositoryTokenClient({
        baseUrl: options.githubSubgraphUrl,
        internalTokenSecret: options.internalTokenSecret,
        ...(options.redactor ? { redactor: options.redactor } : {}),
      })
    : null;
  const tokenFor = async (repository: string): Promise<string> => {
    if (grants) return (await grants.grant(repository)).token;
    if (options.token) return options.token;
    throw new GithubNotConfiguredError(repository);
  };
  const client = async (
    repository: string,
  ): Promise<{ octokit: GithubOctokit; owner: string; repo: string; token: string }> => {
    const [owner = '', repo = ''] = repository.split('/');
    const token = await tokenFor(repository);
    return {
      octokit: createGithubClient({ auth: token, baseUrl: options.apiUrl, userAgent: 'cap-cicd' }),
      owner,
      repo,
      token,
    };
  };
  return {
    async listRuns(repository, etag) {
      const { octokit, owner, repo } = await client(repository);
      try {
        const response = await octokit.request('GET /repos/{owner}/{repo}/actions/runs', {
          owner,
          repo,
          per_page: 50,
          ...(etag ? { headers: { 'if-none-match': etag } } : {}),
        });
        return {
          notModified: false,
          etag: response.headers.etag ?? null,
          runs: response.data.workflow_runs as ApiRun[],
        };
      } catch (error) {
        if ((error as { status?: number }).status === 304) return { notModified: true };
        throw error;
      }
    },
    async listJobs(repository, runId, attempt, max) {
      const { octokit, owner, repo } = await client(repository);
      const response = await octokit.request(
        'GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs',
        { owner, repo, run_id: runId, attempt_number: attempt, per_page: Math.min(max, 100) },
      );
      return (response.data.jobs as ApiJob[]).slice(0, max);
    },
    async jobLog(repository, jobId) {
      return download(await client(repository), `actions/jobs/${jobId}/logs`, 'a job log');
    },
    async runLogArchive(repository, runId, attempt) {
      return download(
        await client(repository),
        `actions/runs/${runId}/attempts/${attempt}/logs`,
        "a run's log archive",
      );
    },
  };

  async function download(
    target: { owner: string; repo: string; token: string },
    path: string,
    what: string,
  ): Promise<ReadableStream<Uint8Array>> {
    // GitHub answers 302 to short-lived log storage; fetch follows it and drops the Authorization header
    // across origins. Streamed: the reader bounds what it reads.
    const response = await fetch(
      `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.repo)}/${path}`,
      {
        headers: {
          authorization: `Bearer ${target.token}`,
          accept: 'application/vnd.github+json',
          'user-agent': 'cap-cicd',
        },
        signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      },
    );
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new GithubLogUnavailableError(response.status, what);
    }
    return response.body;
  }
}

/** Longest a log download may take, ms (GitHub's storage is fast; a stalled one must not hold the processor). */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** No credential reaches the repository. */
export class GithubNotConfiguredError extends Error {
  override readonly name = 'GithubNotConfiguredError';
  constructor(repository: string) {
    super(`No GitHub credential for ${repository} (set GITHUB_SUBGRAPH_URL or GITHUB_TOKEN).`);
  }
}

/** GitHub did not hand out a log (a job's, or a run's archive). */
export class GithubLogUnavailableError extends Error {
  override readonly name = 'GithubLogUnavailableError';
  constructor(
    readonly status: number,
    what = 'a job log',
  ) {
    super(`GitHub answered ${status} for ${what}.`);
  }

  /** 404/410: the log is gone (expired, deleted, never kept), not a passing outage. */
  get gone(): boolean {
    return this.status === 404 || this.status === 410;
  }
}
