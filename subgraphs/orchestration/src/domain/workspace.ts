import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskLogSink } from './taskLogs.js';

/**
 * The temporary checkout an execution works in. A task whose repository is a local git repository (absolute
 * path or file:// URL, stored as a path) gets a `git clone` of it; a GitHub `owner/name` cannot be cloned until
 * the GitHub context exists, so such tasks (and tasks without a repository) get an empty directory.
 */
export interface Workspace {
  /** Absolute path of the directory. */
  readonly dir: string;
  /** True when `dir` is a git clone of the task's repository. */
  readonly cloned: boolean;
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
}

/** Longest a clone may take, ms, besides the execution's own signal. */
const CLONE_TIMEOUT_MS = 10 * 60_000;

function git(
  args: string[],
  options: { path: string; cwd?: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        // Never prompt for credentials; nobody is there to answer.
        env: { PATH: options.path, GIT_TERMINAL_PROMPT: '0', HOME: tmpdir() },
      },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * Creates the execution's workspace under `root` and clones a local repository into it.
 * @throws {WorkspaceError} when the clone fails (the directory is removed again)
 */
export async function prepareWorkspace(options: {
  root: string;
  /** PATH to find `git` on. */
  path: string;
  repository: string | null;
  taskId: string;
  signal: AbortSignal;
  log: TaskLogSink;
}): Promise<Workspace> {
  const dir = await mkdtemp(join(options.root, `cap-task-${options.taskId.slice(0, 8)}-`));
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await rm(dir, { recursive: true, force: true });
  };
  const local = options.repository?.startsWith('/') ?? false;
  if (options.repository && !local) {
    options.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Repository ${options.repository} is not cloned: GitHub repositories become available with the GitHub integration. Working in an empty directory.`,
    });
  }
  if (!local || !options.repository) return { dir, cloned: false, changes: async () => null, dispose };

  options.log.log({ level: 'INFO', kind: 'STEP', message: `Cloning ${options.repository} into the workspace.` });
  try {
    await git(['clone', '--quiet', '--no-hardlinks', '--', options.repository, dir], { path: options.path, signal: options.signal, timeoutMs: CLONE_TIMEOUT_MS });
  } catch (error) {
    await dispose();
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new WorkspaceError(`git clone of ${options.repository} failed${stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : ''}`, { cause: error });
  }
  return {
    dir,
    cloned: true,
    dispose,
    changes: async () => {
      // Stage everything (untracked files included) in the throwaway clone, then count against HEAD.
      await git(['add', '--all'], { path: options.path, cwd: dir });
      const { stdout } = await git(['-c', 'core.quotepath=off', 'diff', '--cached', '--numstat', '--no-renames'], { path: options.path, cwd: dir });
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
    },
  };
}
