import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BranchPublisher } from '@cap/agent';
import { grantWorkspace, removeWorkspaceTree, runInSandbox, type Sandbox } from '@cap/sandbox';
import type { CommandSandbox } from './commandSandbox.js';
import { gitEnv, hostGit } from './hostGit.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import { GithubMirrorError, type GithubMirror, type GithubRepositories } from '../github/githubMirror.js';
import type { TaskLogSink } from '../logs/taskLogs.js';

/**
 * The temporary checkout an execution works in. A task whose repository is a local git repository (absolute
 * path or file:// URL, stored as a path) gets a `git clone` of it; a GitHub `owner/name` is first cloned bare on
 * the host through the github subgraph (`remote.git`, see `GithubRepositories`), then the checkout is cloned from
 * that mirror the same way. Without the github subgraph (GITHUB_SUBGRAPH_URL) such tasks, and tasks without a
 * repository, get an empty directory.
 *
 * On disk: `<WORKSPACE_ROOT>/cap-task-<task>-<random>/` holds a marker (`cap-workspace.json`: execution, task,
 * worker; what the cleanup of abandoned workspaces goes by), `workspace/` (the checkout, `/workspace` in the
 * sandbox) and `task/` (the executor's control files such as the input request, `/task` in the sandbox: never
 * part of the checkout or its diff).
 */
export interface Workspace {
  /** Absolute host path of the checkout. */
  readonly dir: string;
  /** Absolute host path of the control directory beside it. */
  readonly controlDir: string;
  /** True when `dir` is a git clone of the task's repository. */
  readonly cloned: boolean;
  /** The local repository the checkout was cloned from (the task's path, or a GitHub repository's mirror). */
  readonly origin: string | null;
  /** For a GitHub repository: publishes the agent's branch from the host. Null for local repositories. */
  readonly publisher: BranchPublisher | null;
  /** Files changed in the clone since checkout, with line counts; null when the workspace is not a clone. */
  changes(): Promise<WorkspaceChanges | null>;
  /** Removes the directory. Idempotent. */
  dispose(): Promise<void>;
}

/** What an execution changed in a cloned workspace. */
export interface WorkspaceChanges {
  files: string[];
  additions: number;
  deletions: number;
}

/** Why a workspace could not be prepared. */
export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  /** The task's error code; WORKSPACE_FAILED unless the cause says better (e.g. REPOSITORY_ACCESS_DENIED). */
  readonly code: ExecutionErrorCode;
  constructor(message: string, options: { cause?: unknown; code?: ExecutionErrorCode } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code ?? ExecutionErrorCode.WORKSPACE_FAILED;
  }
}

/** Prefix of the directories this platform creates under WORKSPACE_ROOT. */
export const WORKSPACE_PREFIX = 'cap-task-';
/** The marker file in each of them. */
export const WORKSPACE_MARKER = 'cap-workspace.json';

/** Longest a clone may take, ms, besides the execution's own signal. */
const CLONE_TIMEOUT_MS = 10 * 60_000;
/** Longest the checkout and the diff may take in the sandbox, ms. */
const SANDBOXED_GIT_TIMEOUT_MS = 5 * 60_000;

/**
 * Runs a git script in the workspace inside the sandbox: whatever the task's command put in `.git` (hooks,
 * `core.fsmonitor`, filters, `diff.external`, includes...) can only run there, under its limits and timeout.
 */
async function sandboxedGit(
  sandbox: Sandbox,
  dir: string,
  path: string,
  script: string,
  signal?: AbortSignal,
): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const result = await runInSandbox({
    sandbox,
    workspace: dir,
    argv: ['/bin/sh', '-c', script],
    env: { ...gitEnv(path), HOME: '/workspace' },
    timeoutMs: SANDBOXED_GIT_TIMEOUT_MS,
    killGraceMs: 1_000,
    ...(signal ? { signal } : {}),
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk.toString('utf8');
      else if (stderr.length < 10_000) stderr += chunk.toString('utf8');
    },
  });
  if (result.reason !== 'exited' || result.exitCode !== 0) {
    throw Object.assign(
      new Error(
        `git in the sandbox ${result.reason === 'exited' ? `exited with ${result.exitCode ?? result.signal}` : `was stopped (${result.reason})`}`,
      ),
      { stderr },
    );
  }
  return { stdout, stderr };
}

function lastLines(error: unknown): string {
  const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
  return stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : '';
}

function parseNumstat(stdout: string): WorkspaceChanges {
  const changes: WorkspaceChanges = { files: [], additions: 0, deletions: 0 };
  for (const line of stdout.split('\n')) {
    const [added, deleted, ...path] = line.split('\t');
    if (!added || path.length === 0) continue;
    changes.files.push(path.join('\t'));
    // Binary files show "-": counted as a changed file without lines.
    changes.additions += Number(added) || 0;
    changes.deletions += Number(deleted) || 0;
  }
  return changes;
}

const CHECKOUT = 'git rev-parse -q --verify HEAD >/dev/null || exit 0; exec git reset -q --hard HEAD';
const DIFF =
  'git add --all >/dev/null && exec git -c core.quotepath=off diff --cached --numstat --no-renames --no-ext-diff --no-textconv';

/** Whether `origin` (a local repository or the host's mirror) has the branch `branch`, exactly. */
async function hasBranch(
  origin: string,
  branch: string,
  options: { path: string; signal: AbortSignal },
): Promise<boolean> {
  const ref = `refs/heads/${branch}`;
  const listed = await hostGit(['ls-remote', '--heads', '--', origin, ref], {
    path: options.path,
    signal: options.signal,
    timeoutMs: CLONE_TIMEOUT_MS,
  });
  // ls-remote matches patterns by their tail (`refs/heads/a/refs/heads/b` too): only the exact name counts.
  return listed.stdout.split('\n').some((line) => line.split('\t')[1] === ref);
}

/**
 * Creates the execution's workspace under `root` and clones a local repository into it: the clone (objects and
 * refs only) on the host with every executable git setting disabled, the checkout inside the sandbox.
 * @throws {WorkspaceError} when the clone fails (the directory is removed again)
 */
export async function prepareWorkspace(options: {
  root: string;
  /** PATH to find `git` on. */
  path: string;
  repository: string | null;
  /** The branch to clone (its head is what the work starts from and is diffed against); null = the default one. */
  baseBranch?: string | null;
  taskId: string;
  /** The task's creator: the user on whose behalf a GitHub repository's credential is used. */
  creatorId: string;
  executionId: string;
  workerId: string;
  sandbox: CommandSandbox;
  signal: AbortSignal;
  log: TaskLogSink;
  /** Reaches GitHub repositories through the github subgraph; null when GITHUB_SUBGRAPH_URL is not set. */
  github?: GithubRepositories | null;
}): Promise<Workspace> {
  const container = await mkdtemp(join(options.root, `${WORKSPACE_PREFIX}${options.taskId.slice(0, 8)}-`));
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await removeWorkspaceTree(container);
  };
  const dir = join(container, 'workspace');
  const controlDir = join(container, 'task');
  const sandbox = options.sandbox.available ? options.sandbox.sandbox : null;
  try {
    // Search permission only: the sandbox's user reaches its two directories, never lists or reads the marker.
    await chmod(container, 0o711);
    const marker = {
      executionId: options.executionId,
      taskId: options.taskId,
      workerId: options.workerId,
      createdAt: new Date().toISOString(),
    };
    await writeFile(join(container, WORKSPACE_MARKER), `${JSON.stringify(marker)}\n`, { mode: 0o600 });
    // Owner only (the sandbox's user, or this worker's): other users of the host never read a checkout.
    await mkdir(controlDir, { mode: 0o700 });
    if (sandbox) await grantWorkspace(sandbox, controlDir);
  } catch (error) {
    await dispose();
    throw new WorkspaceError(
      `the workspace could not be created under ${options.root}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  const local = options.repository?.startsWith('/') ?? false;
  const github = options.github ?? null;
  if (options.repository && !local && !github) {
    options.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Repository ${options.repository} is not cloned: this worker has no github subgraph (GITHUB_SUBGRAPH_URL). Working in an empty directory.`,
    });
  }
  const empty = async (): Promise<Workspace> => {
    await mkdir(dir, { mode: 0o700 });
    if (sandbox) await grantWorkspace(sandbox, dir);
    return {
      dir,
      controlDir,
      cloned: false,
      origin: null,
      publisher: null,
      changes: async () => null,
      dispose,
    };
  };
  if (!options.repository || (!local && !github)) return empty();
  if (!sandbox) {
    // The executor refuses to run anything without a sandbox; checking out here would run git on its content.
    options.log.log({
      level: 'WARN',
      kind: 'STEP',
      message: `Repository ${options.repository} is not cloned: there is no command sandbox.`,
    });
    return empty();
  }

  options.log.log({
    level: 'INFO',
    kind: 'STEP',
    message: `Cloning ${options.repository}${options.baseBranch ? ` (branch ${options.baseBranch})` : ''} into the workspace${local ? '' : ' (from GitHub, on the host)'}.`,
  });
  let origin = options.repository;
  let mirror: GithubMirror | null = null;
  if (!local && github) {
    try {
      mirror = await github.mirror({
        repository: options.repository,
        dir: join(container, 'remote.git'),
        workspace: dir,
        signal: options.signal,
        secrets: options.log,
        onBehalfOf: options.creatorId,
      });
      origin = mirror.dir;
    } catch (error) {
      await dispose();
      const code = error instanceof GithubMirrorError ? error.code : undefined;
      throw new WorkspaceError((error as Error).message, { cause: error, ...(code ? { code } : {}) });
    }
  }
  const baseBranch = options.baseBranch ?? null;
  if (baseBranch !== null) {
    const found = await hasBranch(origin, baseBranch, options).catch(async (error: unknown) => {
      await dispose();
      throw new WorkspaceError(`git ls-remote of ${options.repository} failed${lastLines(error)}`, {
        cause: error,
      });
    });
    if (!found) {
      await dispose();
      throw new WorkspaceError(
        `The base branch ${JSON.stringify(baseBranch)} does not exist in ${options.repository}.`,
        { code: ExecutionErrorCode.BASE_BRANCH_NOT_FOUND },
      );
    }
  }
  try {
    // The branch is the value of --branch (its own argv element, never an option), the origin comes after `--`.
    const branch = baseBranch === null ? [] : ['--branch', baseBranch, '--single-branch'];
    await hostGit(['clone', '--quiet', '--no-local', '--no-checkout', ...branch, '--', origin, dir], {
      path: options.path,
      signal: options.signal,
      timeoutMs: CLONE_TIMEOUT_MS,
    });
    await chmod(dir, 0o700);
    await grantWorkspace(sandbox, dir);
    if (sandbox.mode === 'bwrap') await sandboxedGit(sandbox, dir, options.path, CHECKOUT, options.signal);
    else {
      const git = { path: options.path, cwd: dir, signal: options.signal };
      // A repository without commits has nothing to check out.
      const hasHead = await hostGit(['rev-parse', '-q', '--verify', 'HEAD'], git).then(
        () => true,
        () => false,
      );
      if (hasHead) await hostGit(['reset', '-q', '--hard', 'HEAD'], git);
    }
  } catch (error) {
    await dispose();
    throw new WorkspaceError(`git clone of ${options.repository} failed${lastLines(error)}`, {
      cause: error,
    });
  }
  return {
    dir,
    controlDir,
    cloned: true,
    origin,
    publisher: mirror,
    dispose,
    changes: async () => {
      // Stage everything (untracked files included) in the throwaway clone, then count against HEAD.
      if (sandbox.mode === 'bwrap')
        return parseNumstat((await sandboxedGit(sandbox, dir, options.path, DIFF)).stdout);
      // Unsandboxed (COMMAND_SANDBOX=none) the command could do anything as this user anyway; git still runs with
      // every executable setting disabled on the command line.
      await hostGit(['add', '--all'], { path: options.path, cwd: dir });
      const { stdout } = await hostGit(
        [
          '-c',
          'core.quotepath=off',
          'diff',
          '--cached',
          '--numstat',
          '--no-renames',
          '--no-ext-diff',
          '--no-textconv',
        ],
        { path: options.path, cwd: dir },
      );
      return parseNumstat(stdout);
    },
  };
}
