import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createHttpServer } from '@cap/runtime';
import type { AddressInfo } from 'node:net';
import type { FakeGithub, FakeRequest, FakeResponse } from './fakeGithubServer.js';

/** A job log: text or bytes, or `{ bytes }` generated on the fly (large logs never sit in memory). */
export type FakeLog = string | Buffer | { bytes: number; line?: string };

/** A job of a fake workflow run. */
export interface FakeJob {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | 'skipped' | 'timed_out' | null;
  steps?: Array<{ name: string; number: number; conclusion: 'success' | 'failure' | 'skipped' | null }>;
  /** Its plain-text log; `{ gone: 404 | 410 }` when GitHub no longer hands it out (expired, deleted). */
  log: FakeLog | { gone: 404 | 410 };
}

/** A fake workflow run (one attempt). */
export interface FakeRun {
  id: number;
  runAttempt: number;
  workflowId: number;
  name: string;
  event: string;
  headBranch: string;
  headSha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | 'timed_out' | null;
  pullRequests: number[];
  startedAt: string;
  updatedAt: string;
  jobs: FakeJob[];
  /** The attempt's run-logs archive (a ZIP, or any bytes a test wants served); 404 when absent. */
  logArchive?: FakeLog;
}

const NOT_FOUND: FakeResponse = { status: 404, body: { message: 'Not Found', documentation_url: '' } };
const GONE: FakeResponse = { status: 410, body: { message: 'Gone', documentation_url: '' } };

/**
 * GitHub Actions on the fake GitHub: list runs (with the ETag conditional requests GitHub answers 304 to), get a
 * run, list an attempt's jobs, and download a job's log the way GitHub does: a 302 to short-lived log storage on
 * another origin (a second local server here), which serves the plain text; and download an attempt's run-logs
 * archive the same way (a ZIP). Logs of `{ bytes }` are generated as a stream, never held in memory. Responses are
 * checked against GitHub's OpenAPI description like every route of the fake. Runs are added with
 * {@link FakeActions.addRun}.
 */
export class FakeActions {
  readonly #runs = new Map<string, FakeRun[]>();
  readonly #blobs = new Map<string, FakeLog>();
  #storage: Server | null = null;
  #storageUrl = '';
  /** Log downloads served by the storage (for assertions). */
  downloads = 0;
  /** Run-logs archive requests answered with a redirect (for assertions). */
  archiveRequests = 0;

  constructor(private readonly fake: FakeGithub) {}

  /** Starts the log storage and adds the routes to `fake`. */
  async install(): Promise<this> {
    this.#storage = createHttpServer((req, res) => {
      const key = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
      const log = this.#blobs.get(key);
      if (!log) return void res.writeHead(404).end();
      this.downloads += 1;
      const archive = key.endsWith('.zip');
      res.writeHead(200, { 'content-type': archive ? 'application/zip' : 'text/plain; charset=utf-8' });
      if (typeof log === 'string' || Buffer.isBuffer(log)) return void res.end(log);
      const line = Buffer.from(log.line ?? '2026-01-01T00:00:00.0000000Z just a line of output\n');
      let left = log.bytes;
      const pump = (): void => {
        while (left > 0) {
          const chunk = left >= line.length ? line : line.subarray(0, left);
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => this.#storage!.listen(0, '127.0.0.1', resolve));
    this.#storageUrl = `http://127.0.0.1:${(this.#storage.address() as AddressInfo).port}`;
    const repo = (request: FakeRequest) =>
      `${request.params['owner']}/${request.params['repo']}`.toLowerCase();
    const authorized = (request: FakeRequest) => request.caller.kind === 'token';
    const runOf = (request: FakeRequest) =>
      (this.#runs.get(repo(request)) ?? []).filter((run) => run.id === Number(request.params['run_id']));
    this.fake
      .route('GET', '/repos/{owner}/{repo}/actions/runs', (request) => {
        if (!authorized(request)) return NOT_FOUND;
        const runs = latestAttempts(this.#runs.get(repo(request)) ?? []);
        const body = this.fake.sample('GET /repos/{owner}/{repo}/actions/runs', 200, {
          total_count: runs.length,
          workflow_runs: runs.map((run) => this.#runFacts(repo(request), run)),
        });
        const etag = `W/"${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32)}"`;
        if (request.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
        return { status: 200, body, headers: { etag } };
      })
      .route('GET', '/repos/{owner}/{repo}/actions/runs/{run_id}', (request) => {
        const run = latestAttempts(runOf(request))[0];
        if (!authorized(request) || !run) return NOT_FOUND;
        return {
          status: 200,
          body: this.fake.sample(
            'GET /repos/{owner}/{repo}/actions/runs/{run_id}',
            200,
            this.#runFacts(repo(request), run),
          ),
        };
      })
      .route(
        'GET',
        '/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs',
        (request) => {
          const run = runOf(request).find((r) => r.runAttempt === Number(request.params['attempt_number']));
          if (!authorized(request) || !run) return NOT_FOUND;
          return {
            status: 200,
            body: this.fake.sample(
              'GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs',
              200,
              {
                total_count: run.jobs.length,
                jobs: run.jobs.map((job) => this.#jobFacts(repo(request), run, job)),
              },
            ),
          };
        },
      )
      .route('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}/logs', (request) => {
        if (!authorized(request)) return NOT_FOUND;
        const jobId = Number(request.params['job_id']);
        const job = (this.#runs.get(repo(request)) ?? [])
          .flatMap((run) => run.jobs)
          .find((j) => j.id === jobId);
        if (!job) return NOT_FOUND;
        if (typeof job.log === 'object' && 'gone' in job.log) return job.log.gone === 410 ? GONE : NOT_FOUND;
        return this.#redirect(job.log, '');
      })
      .route(
        'GET',
        '/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/logs',
        (request) => {
          const run = runOf(request).find((r) => r.runAttempt === Number(request.params['attempt_number']));
          if (!authorized(request) || !run?.logArchive) return NOT_FOUND;
          this.archiveRequests += 1;
          return this.#redirect(run.logArchive, '.zip');
        },
      );
    return this;
  }

  /** Adds (or replaces) a run attempt of `owner/name`. */
  addRun(repository: string, run: FakeRun): void {
    const key = repository.toLowerCase();
    const runs = (this.#runs.get(key) ?? []).filter(
      (r) => !(r.id === run.id && r.runAttempt === run.runAttempt),
    );
    this.#runs.set(key, [...runs, run]);
  }

  /** The `workflow_run` object GitHub would put in a webhook delivery or a list. */
  runPayload(repository: string, run: FakeRun): Record<string, unknown> {
    return this.#runFacts(repository.toLowerCase(), run);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.#storage) return resolve();
      this.#storage.closeAllConnections();
      this.#storage.close(() => resolve());
    });
  }

  /** GitHub's answer for a log: a 302 to a short-lived address on the log storage. */
  #redirect(log: FakeLog, suffix: string): FakeResponse {
    const key = `${randomBytes(12).toString('hex')}${suffix}`;
    this.#blobs.set(key, log);
    return { status: 302, headers: { location: `${this.#storageUrl}/${key}` } };
  }

  #runFacts(repository: string, run: FakeRun): Record<string, unknown> {
    const [owner = '', name = ''] = repository.split('/');
    const html = `${this.fake.url}/${repository}/actions/runs/${run.id}`;
    return {
      id: run.id,
      run_attempt: run.runAttempt,
      workflow_id: run.workflowId,
      name: run.name,
      event: run.event,
      head_branch: run.headBranch,
      head_sha: run.headSha,
      status: run.status,
      conclusion: run.conclusion,
      html_url: html,
      url: `${this.fake.apiUrl}/repos/${repository}/actions/runs/${run.id}`,
      run_started_at: run.startedAt,
      created_at: run.startedAt,
      updated_at: run.updatedAt,
      pull_requests: run.pullRequests.map((number) => ({
        id: number,
        number,
        url: `${this.fake.apiUrl}/repos/${repository}/pulls/${number}`,
        head: {
          ref: run.headBranch,
          sha: run.headSha,
          repo: { id: 1, name, url: `${this.fake.apiUrl}/repos/${repository}` },
        },
        base: {
          ref: 'main',
          sha: run.headSha,
          repo: { id: 1, name, url: `${this.fake.apiUrl}/repos/${repository}` },
        },
      })),
      repository: { name, full_name: repository, owner: { login: owner } },
    };
  }

  #jobFacts(repository: string, run: FakeRun, job: FakeJob): Record<string, unknown> {
    return {
      id: job.id,
      run_id: run.id,
      run_attempt: run.runAttempt,
      name: job.name,
      status: job.status,
      conclusion: job.conclusion,
      head_sha: run.headSha,
      head_branch: run.headBranch,
      workflow_name: run.name,
      started_at: run.startedAt,
      completed_at: job.status === 'completed' ? run.updatedAt : null,
      created_at: run.startedAt,
      html_url: `${this.fake.url}/${repository}/actions/runs/${run.id}/job/${job.id}`,
      steps: (job.steps ?? []).map((step) => ({
        name: step.name,
        number: step.number,
        status: 'completed',
        conclusion: step.conclusion,
        started_at: run.startedAt,
        completed_at: run.updatedAt,
      })),
    };
  }
}

function latestAttempts(runs: readonly FakeRun[]): FakeRun[] {
  const byId = new Map<number, FakeRun>();
  for (const run of runs) {
    const seen = byId.get(run.id);
    if (!seen || seen.runAttempt < run.runAttempt) byId.set(run.id, run);
  }
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

/** Adds GitHub Actions to a started fake GitHub. */
export function installActionsRoutes(fake: FakeGithub): Promise<FakeActions> {
  return new FakeActions(fake).install();
}
