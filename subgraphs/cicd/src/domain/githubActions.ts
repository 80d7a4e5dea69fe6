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
      const { owner, repo, token } = await client(repository);
      // GitHub answers 302 to short-lived log storage; fetch follows it and drops the Authorization header
      // across origins. Streamed: the parser reads it line by line under its byte limit.
      const response = await fetch(
        `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/actions/jobs/${jobId}/logs`,
        {
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/vnd.github+json',
            'user-agent': 'cap-cicd',
          },
          signal: AbortSignal.timeout(60_000),
        },
      );
      if (!response.ok || !response.body) throw new GithubLogUnavailableError(response.status);
      return response.body;
    },
  };
}

/** No credential reaches the repository. */
export class GithubNotConfiguredError extends Error {
  override readonly name = 'GithubNotConfiguredError';
  constructor(repository: string) {
    super(`No GitHub credential for ${repository} (set GITHUB_SUBGRAPH_URL or GITHUB_TOKEN).`);
  }
}

/** GitHub did not hand out a job's log. */
export class GithubLogUnavailableError extends Error {
  override readonly name = 'GithubLogUnavailableError';
  constructor(readonly status: number) {
    super(`GitHub answered ${status} for a job log.`);
  }
}
