import { lstat, realpath } from 'node:fs/promises';
import type { BranchPublisher } from '@cap/agent';
import {
  gitCredentialEnv,
  RepositoryGrantError,
  RepositoryTokenClient,
  type RepositoryGrant,
} from '@cap/github-client';
import { ExecutionErrorCode } from '../domain/errors.js';
import { hostGit } from '../execution/hostGit.js';

/** Longest a clone or a push to GitHub may take, ms, besides the execution's own signal. */
const NETWORK_TIMEOUT_MS = 10 * 60_000;
/** Largest bundle the sandbox may hand over for publishing, bytes. */
const MAX_BUNDLE_BYTES = 2 * 1024 ** 3;
/**
 * What the agent's branches (`agent/<short task id>`) and commits look like; anything else is refused before git
 * sees it, so the publisher can never move another branch (`main`) or pass git an option.
 */
const BRANCH = /^agent\/[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Why a GitHub repository could not be reached: `code` becomes the task's error code. */
export class GithubMirrorError extends Error {
  override readonly name = 'GithubMirrorError';
  constructor(
    message: string,
    readonly code: ExecutionErrorCode,
  ) {
    super(message);
  }
}

/** Where the token of each grant is registered for redaction (the execution's task log). */
export interface SecretSink {
  registerSecret(value: string): void;
}

/**
 * GitHub repositories for the worker's workspaces (ADR 0019). The github subgraph keeps every credential; per
 * clone and per push this asks it for a short-lived token (`POST /internal/repository-token`, authenticated with
 * INTERNAL_TOKEN_SECRET) and hands the token to git on the host through the environment only
 * (`gitCredentialEnv`): never in argv, `.git/config`, a log line or the sandbox. Orchestration stores none.
 */
export class GithubRepositories {
  readonly #client: RepositoryTokenClient;
  readonly #path: string;

  constructor(options: { baseUrl: string; internalTokenSecret: string; path: string; timeoutMs?: number }) {
    this.#client = new RepositoryTokenClient({
      baseUrl: options.baseUrl,
      internalTokenSecret: options.internalTokenSecret,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    this.#path = options.path;
  }

  /**
   * A fresh grant for `repository`, its token registered with `secrets` before anything else sees it, for the work
   * of `onBehalfOf` (the task's creator: a repository connected with someone's own OAuth token is theirs alone).
   */
  async grant(repository: string, secrets: SecretSink, onBehalfOf: string): Promise<RepositoryGrant> {
    let grant: RepositoryGrant;
    try {
      grant = await this.#client.grant(repository, { onBehalfOf });
    } catch (error) {
      if (!(error instanceof RepositoryGrantError)) throw error;
      if (error.status === 0 || (error.status >= 500 && error.code === 'UNEXPECTED'))
        throw new GithubMirrorError(
          `The github subgraph could not be asked for a token for ${repository}: ${error.message}`,
          ExecutionErrorCode.WORKSPACE_FAILED,
        );
      throw new GithubMirrorError(
        `The github subgraph granted no token for ${repository} (${error.code}): ${error.message} Connect the repository (connectRepository) with a credential that covers it (GITHUB_TOKEN, or a GitHub App installed on it).`,
        ExecutionErrorCode.REPOSITORY_ACCESS_DENIED,
      );
    }
    secrets.registerSecret(grant.token);
    secrets.registerSecret(Buffer.from(`${grant.username}:${grant.token}`).toString('base64'));
    return grant;
  }

  /**
   * Clones `repository` (bare, every branch) into `dir` on the host: the mirror the workspace is cloned from and
   * the agent's branch is published from. Nothing sandboxed ever writes to it (the sandbox only reads it, for
   * fetching the agent's branch), so host git can trust its configuration.
   * @throws {GithubMirrorError}
   */
  async mirror(options: {
    repository: string;
    dir: string;
    workspace: string;
    signal: AbortSignal;
    secrets: SecretSink;
    /** The task's creator, whose work this is. */
    onBehalfOf: string;
  }): Promise<GithubMirror> {
    const grant = await this.grant(options.repository, options.secrets, options.onBehalfOf);
    try {
      await hostGit(['clone', '--bare', '--quiet', '--', grant.cloneUrl, options.dir], {
        path: this.#path,
        signal: options.signal,
        timeoutMs: NETWORK_TIMEOUT_MS,
        env: gitCredentialEnv(grant),
      });
    } catch (error) {
      throw new GithubMirrorError(
        `git clone of ${options.repository} failed${lastLines(error)}`,
        ExecutionErrorCode.WORKSPACE_FAILED,
      );
    }
    return new GithubMirror(this, {
      repository: options.repository,
      dir: options.dir,
      workspace: options.workspace,
      path: this.#path,
      secrets: options.secrets,
      onBehalfOf: options.onBehalfOf,
    });
  }
}

/** What a {@link GithubMirror} works on. */
interface MirrorOptions {
  repository: string;
  /** Host path of the bare mirror. */
  dir: string;
  /** Host path of the workspace (where the sandbox writes the bundle). */
  workspace: string;
  /** PATH to find `git` on. */
  path: string;
  secrets: SecretSink;
  onBehalfOf: string;
}

/**
 * One execution's mirror of a GitHub repository, and the agent's {@link BranchPublisher}: the sandbox writes a
 * bundle of the branch's new commits, this imports it into the mirror (checked: a regular file inside the
 * workspace, objects fsck'ed, its head the commit announced) and pushes the branch to GitHub with a lease on what
 * the branch was, so re-runs update the one branch `agent/<id>` and never overwrite someone else's push.
 */
export class GithubMirror implements BranchPublisher {
  readonly #repositories: GithubRepositories;
  readonly #options: MirrorOptions;
  /** What each branch is on GitHub as far as this execution knows (empty: absent), for the push's lease. */
  readonly #leases = new Map<string, string>();

  constructor(repositories: GithubRepositories, options: MirrorOptions) {
    this.#repositories = repositories;
    this.#options = options;
  }

  /** Host path of the bare mirror. */
  get dir(): string {
    return this.#options.dir;
  }

  async publish(request: {
    branch: string;
    commit: string;
    bundle: string | null;
    signal: AbortSignal;
  }): Promise<void> {
    const { branch, commit } = request;
    if (!BRANCH.test(branch) || !COMMIT.test(commit))
      throw new Error(`Refusing to publish ${JSON.stringify(branch)} at ${JSON.stringify(commit)}.`);
    const git = (args: string[], env?: Record<string, string>) =>
      hostGit(args, {
        path: this.#options.path,
        cwd: this.#options.dir,
        signal: request.signal,
        timeoutMs: NETWORK_TIMEOUT_MS,
        ...(env ? { env } : {}),
      });
    const ref = `refs/heads/${branch}`;
    let lease = this.#leases.get(branch);
    if (lease === undefined) {
      lease = await git(['rev-parse', '-q', '--verify', ref]).then(
        (out) => out.stdout.trim(),
        () => '',
      );
    }
    if (request.bundle) {
      const bundle = await this.#checkedBundle(request.bundle);
      await git([
        '-c',
        'fetch.fsckObjects=true',
        'fetch',
        '--quiet',
        '--no-tags',
        bundle,
        '+HEAD:refs/cap/publish',
      ]);
      const imported = (await git(['rev-parse', '--verify', 'refs/cap/publish^{commit}'])).stdout.trim();
      if (imported !== commit) throw new Error(`The bundle holds ${imported}, not ${commit}.`);
    } else {
      await git(['cat-file', '-e', `${commit}^{commit}`]);
    }
    await git(['update-ref', ref, commit]);
    const grant = await this.#repositories.grant(
      this.#options.repository,
      this.#options.secrets,
      this.#options.onBehalfOf,
    );
    try {
      await git(
        ['push', '--quiet', `--force-with-lease=${ref}:${lease}`, grant.cloneUrl, `${commit}:${ref}`],
        gitCredentialEnv(grant),
      );
    } catch (error) {
      throw new Error(`git push of ${branch} to ${this.#options.repository} failed${lastLines(error)}`);
    }
    this.#leases.set(branch, commit);
  }

  /**
   * The bundle's real path, once it is known to be a regular file inside the workspace of bounded size. The
   * sandbox wrote it (and could have made it a link to a host file); no sandboxed process runs while the host
   * publishes (a command's processes die with it, ADR 0011), so the check cannot be raced.
   */
  async #checkedBundle(path: string): Promise<string> {
    const workspace = await realpath(this.#options.workspace);
    const real = await realpath(path);
    const stats = await lstat(real);
    if (!real.startsWith(`${workspace}/`) || !stats.isFile() || stats.size > MAX_BUNDLE_BYTES)
      throw new Error('The bundle to publish is not a regular file of the workspace within the size limit.');
    return real;
  }
}

function lastLines(error: unknown): string {
  const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
  return stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : '';
}
