import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, realpath, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentError, AgentErrorCode } from './errors.js';
import type { CommandResult, CommandRunner, RepositoryAccess, RepositoryLocation } from './ports.js';

/**
 * Options every git invocation gets: the workspace's own configuration must not run anything (hooks, fsmonitor),
 * and neither the host's global nor system configuration applies.
 */
const SAFE_GIT = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'protocol.file.allow=always',
  '-c',
  'core.quotepath=off',
];

/** Paths setup creates that must never be committed (kept out through `.git/info/exclude`). */
const EXCLUDE_MARK = '# coding agent: setup artefacts';
/** Where the sandbox writes the bundle a remote branch is published from (relative to the workspace; excluded). */
const BUNDLE = '.cap-agent/publish.bundle';
const SETUP_ARTEFACTS = [
  'node_modules/',
  '.venv/',
  '__pycache__/',
  '.pytest_cache/',
  'target/',
  '.cap-agent/',
];

/**
 * The agent's git work in a cloned workspace, every command through the {@link CommandRunner} (the sandbox):
 * its branch, commits and push.
 */
export class GitWorkspace {
  readonly dir: string;
  readonly branch: string;
  readonly #runner: CommandRunner;
  readonly #env: Record<string, string>;
  readonly #signal: AbortSignal;
  readonly #timeoutMs: number;
  readonly #location: RepositoryLocation;
  /**
   * The commit the agent's work is diffed against: the clone's head, which is the head of the branch the workspace
   * was cloned at (the task's base branch, e.g. a CI fix's failing branch; else the default branch).
   */
  base = '';

  constructor(options: {
    dir: string;
    branch: string;
    runner: CommandRunner;
    env: Record<string, string>;
    signal: AbortSignal;
    timeoutMs: number;
    location: RepositoryLocation;
    author: { name: string; email: string };
  }) {
    this.dir = options.dir;
    this.branch = options.branch;
    this.#runner = options.runner;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs;
    this.#location = options.location;
    this.#env = {
      ...options.env,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: options.author.name,
      GIT_AUTHOR_EMAIL: options.author.email,
      GIT_COMMITTER_NAME: options.author.name,
      GIT_COMMITTER_EMAIL: options.author.email,
    };
  }

  /** Runs `git <args>` through the runner; the caller reads the exit code. */
  async git(
    args: readonly string[],
    options: { maxOutputBytes?: number; network?: boolean } = {},
  ): Promise<CommandResult> {
    return this.#runner.run({
      argv: ['git', ...SAFE_GIT, ...args],
      cwd: this.dir,
      env: this.#env,
      timeoutMs: this.#timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? 1024 * 1024,
      network: options.network ?? false,
      signal: this.#signal,
    });
  }

  async #must(args: readonly string[], what: string, options: { network?: boolean } = {}): Promise<string> {
    const result = await this.git(args, options);
    if (result.exitCode !== 0) {
      throw new AgentError(AgentErrorCode.GIT_FAILED, `git ${what} failed.`, {
        detail: result.output.slice(-2_000),
      });
    }
    return result.output.trim();
  }

  /**
   * Checks out the agent's branch: the pushed one when a previous attempt left it (so re-runs continue and
   * update it rather than start over), else a new one from the clone's head. Either way the base is the clone's
   * head (the base branch's), read before anything else moves HEAD, as a full commit id (never a symbolic name a
   * later ref could shadow).
   */
  async checkoutBranch(): Promise<{ resumed: boolean }> {
    this.base = await this.#must(['rev-parse', '--verify', 'HEAD^{commit}'], 'rev-parse');
    const exclude = join(this.dir, '.git', 'info', 'exclude');
    await mkdir(join(this.dir, '.git', 'info'), { recursive: true });
    const excluded = await readFile(exclude, 'utf8').catch(() => '');
    if (!excluded.includes(EXCLUDE_MARK)) {
      await appendFile(exclude, `\n${EXCLUDE_MARK}\n${SETUP_ARTEFACTS.join('\n')}\n`);
    }
    const remoteRef = `refs/remotes/agent-origin/${this.branch}`;
    const fetched = await this.git(
      ['fetch', '--quiet', '--no-tags', this.#location.url, `+refs/heads/${this.branch}:${remoteRef}`],
      {
        network: true,
      },
    );
    if (fetched.exitCode === 0) {
      await this.#must(['checkout', '--quiet', '-B', this.branch, remoteRef], 'checkout');
      return { resumed: true };
    }
    await this.#must(['checkout', '--quiet', '-B', this.branch], 'checkout');
    return { resumed: false };
  }

  /** Commits everything (untracked files included); returns the new commit, or null when nothing changed. */
  async commitAll(message: string): Promise<string | null> {
    await this.#must(['add', '--all'], 'add');
    const staged = await this.git(['diff', '--cached', '--quiet']);
    if (staged.exitCode === 0) return null;
    await this.#must(['commit', '--quiet', '--no-verify', '-m', message], 'commit');
    return this.#must(['rev-parse', 'HEAD'], 'rev-parse');
  }

  /** The branch's head commit. */
  head(): Promise<string> {
    return this.#must(['rev-parse', 'HEAD'], 'rev-parse');
  }

  /**
   * Pushes the branch, replacing what an earlier attempt pushed (the branch is the agent's own). A remote
   * repository's branch is published from the host: here, in the sandbox, git only writes a bundle of the commits
   * the remote lacks (everything reachable from HEAD but from no remote-tracking ref) into `.cap-agent/`.
   */
  async push(): Promise<void> {
    const publisher = this.#location.publisher;
    if (!publisher) {
      await this.#must(
        ['push', '--quiet', '--force', this.#location.url, `HEAD:refs/heads/${this.branch}`],
        'push',
        { network: true },
      );
      return;
    }
    const commit = await this.head();
    await this.#removeBundle();
    const bundled = await this.git(['bundle', 'create', '--quiet', BUNDLE, 'HEAD', '--not', '--remotes']);
    // git refuses an empty bundle: the remote already has every commit of the branch.
    const empty = bundled.exitCode !== 0 && /empty bundle/i.test(bundled.output);
    if (bundled.exitCode !== 0 && !empty) {
      throw new AgentError(AgentErrorCode.GIT_FAILED, 'git bundle failed.', {
        detail: bundled.output.slice(-2_000),
      });
    }
    try {
      await publisher.publish({
        branch: this.branch,
        commit,
        bundle: empty ? null : join(this.dir, BUNDLE),
        signal: this.#signal,
      });
    } catch (error) {
      throw new AgentError(AgentErrorCode.GIT_FAILED, `Publishing ${this.branch} failed.`, {
        detail: error instanceof Error ? error.message : String(error),
        cause: error,
      });
    } finally {
      await this.#removeBundle();
    }
  }

  /**
   * Removes a previous bundle on the host, and makes sure its directory exists, only while that directory really is
   * inside the workspace: the agent's commands could have replaced it with a link to anywhere.
   */
  async #removeBundle(): Promise<void> {
    const parent = join(this.dir, '.cap-agent');
    await mkdir(parent, { recursive: true });
    const [root, real] = await Promise.all([realpath(this.dir), realpath(parent)]);
    if (real !== join(root, '.cap-agent'))
      throw new AgentError(AgentErrorCode.GIT_FAILED, "The workspace's .cap-agent directory is not its own.");
    await rm(join(real, 'publish.bundle'), { force: true });
  }

  /** Unified diff of the work tree (uncommitted work included) against the base, capped. */
  async workingDiff(maxChars: number): Promise<string> {
    await this.#must(['add', '--all'], 'add');
    const result = await this.git(['diff', '--cached', '--no-color', '--no-ext-diff', this.base], {
      maxOutputBytes: maxChars,
    });
    return result.output.trim().length > 0 ? result.output : '(no changes)';
  }

  /** Paths the work tree changes against the base (uncommitted work included), as git names them. */
  async changedPaths(): Promise<string[]> {
    await this.#must(['add', '--all'], 'add');
    const result = await this.git(['diff', '--cached', '--name-only', '--no-renames', '-z', this.base], {
      maxOutputBytes: 4 * 1024 * 1024,
    });
    if (result.exitCode !== 0)
      throw new AgentError(AgentErrorCode.GIT_FAILED, 'git diff --name-only failed.', {
        detail: result.output.slice(-2_000),
      });
    return result.output.split('\0').filter((path) => path.length > 0);
  }

  /** The work tree's diff of one path against the base, 3 lines of context (as GitHub shows it), capped. */
  async filePatch(path: string): Promise<string> {
    const result = await this.git(
      [
        'diff',
        '--cached',
        '--no-color',
        '--no-ext-diff',
        '--no-renames',
        this.base,
        '--',
        `:(literal)${path}`,
      ],
      { maxOutputBytes: 4 * 1024 * 1024 },
    );
    return result.exitCode === 0 ? result.output : '';
  }

  /** Unified diff of the branch against the base, capped, with stats. */
  async diff(
    maxChars: number,
  ): Promise<{ diff: string; files: string[]; additions: number; deletions: number }> {
    const patch = await this.git(['diff', '--no-color', '--no-ext-diff', this.base, 'HEAD'], {
      maxOutputBytes: maxChars,
    });
    const numstat = await this.#must(['diff', '--numstat', '--no-renames', this.base, 'HEAD'], 'diff');
    const stats = { files: [] as string[], additions: 0, deletions: 0 };
    for (const line of numstat.split('\n')) {
      const [added, deleted, ...rest] = line.split('\t');
      if (!added || rest.length === 0) continue;
      stats.files.push(rest.join('\t'));
      stats.additions += Number(added) || 0;
      stats.deletions += Number(deleted) || 0;
    }
    return { diff: patch.output, ...stats };
  }
}

/**
 * {@link RepositoryAccess} for repositories on the worker's filesystem: an absolute path or a file:// URL.
 * No credentials (GitHub repositories come through orchestration's host-side mirror and a `BranchPublisher`).
 */
export class LocalRepositoryAccess implements RepositoryAccess {
  async locate(repository: string): Promise<RepositoryLocation> {
    const path = repository.startsWith('file:') ? fileURLToPath(repository) : repository;
    if (!isAbsolute(path) || !existsSync(path)) {
      throw new AgentError(
        AgentErrorCode.NO_REPOSITORY,
        `Repository ${repository} is not a local git repository this worker can reach.`,
      );
    }
    return { url: path };
  }
}
