import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from './contract.js';

/** One command for the {@link CommandRunner}: an argv (no shell) or a shell command line. */
export interface CommandRequest {
  /** Program and arguments, run without a shell. Exactly one of `argv` and `shell` is set. */
  argv?: readonly string[];
  /** A `/bin/sh -c` command line. */
  shell?: string;
  /** Absolute working directory; always inside the workspace. */
  cwd: string;
  /** The whole environment of the command: nothing is inherited from the worker. */
  env: Record<string, string>;
  /** Killed (its whole process tree) after this long, ms. */
  timeoutMs: number;
  /** Output kept, bytes (stdout and stderr interleaved); the rest is cut with a truncation mark. */
  maxOutputBytes: number;
  /** Whether the command may reach the network. */
  network: boolean;
  /** Aborting kills the command. */
  signal: AbortSignal;
}

/** What a command did. */
export interface CommandResult {
  /** Exit code, or null when it was killed (timeout, cancel, signal). */
  exitCode: number | null;
  /** stdout and stderr interleaved, capped; ends with a truncation mark when cut. */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  /** True when `signal` stopped it. */
  cancelled: boolean;
  durationMs: number;
}

/**
 * Runs commands in the workspace. Every command the agent runs, git included, goes through this port, so that
 * production runs them in the sandbox (`@cap/sandbox`, bubblewrap) and never on the host with the workspace's
 * own configuration.
 */
export interface CommandRunner {
  run(request: CommandRequest): Promise<CommandResult>;
}

/**
 * Publishes the agent's branch to a remote repository from the host (GitHub): the sandbox only writes a git
 * bundle of the branch into the workspace, and the host, which alone holds the credentials, checks it, imports it
 * into a repository nothing sandboxed ever wrote to, and pushes from there (ADR 0019). No token ever enters the
 * sandbox, git's arguments or a file.
 */
export interface BranchPublisher {
  /**
   * Publishes `commit` as `branch`, replacing what an earlier attempt published. `bundle` is the host path of a
   * bundle (written by the sandbox, so untrusted: checked before use) holding the commits the remote lacks, or
   * null when it has them all already.
   */
  publish(request: {
    branch: string;
    commit: string;
    bundle: string | null;
    signal: AbortSignal;
  }): Promise<void>;
}

/** Where a repository is fetched from, and how the agent's branch is published. */
export interface RepositoryLocation {
  /** A local path `git` in the sandbox fetches from (and pushes to, without a publisher). */
  url: string;
  /**
   * Set for remote repositories: the branch is published from the host through it instead of `git push` in the
   * sandbox. Credentials never reach the agent.
   */
  publisher?: BranchPublisher | undefined;
}

/** Reaches the repositories tasks name (local paths; GitHub's through orchestration's host-side mirror). */
export interface RepositoryAccess {
  /** Where `repository` (a task's canonical reference) is fetched from and pushed to. */
  locate(repository: string): Promise<RepositoryLocation>;
}

/** Time, injectable so that tests and benchmarks control it. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Keeps an agent's conversation between attempts (`ask_user` → AWAITING_INPUT → the next attempt resumes).
 * The state is one JSON value per task; the platform backs it by PostgreSQL.
 */
export interface ConversationStore {
  load(taskId: string): Promise<JsonValue | null>;
  save(taskId: string, state: JsonValue): Promise<void>;
  delete(taskId: string): Promise<void>;
}

/** A {@link ConversationStore} in memory (one process; tests, benchmarks). */
export class MemoryConversationStore implements ConversationStore {
  readonly #states = new Map<string, string>();

  async load(taskId: string): Promise<JsonValue | null> {
    const text = this.#states.get(taskId);
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  }

  async save(taskId: string, state: JsonValue): Promise<void> {
    // Stored serialised, like the database will: nothing live survives between attempts.
    this.#states.set(taskId, JSON.stringify(state));
  }

  async delete(taskId: string): Promise<void> {
    this.#states.delete(taskId);
  }
}

/**
 * A {@link ConversationStore} of JSON files in a directory outside every workspace (workspaces are removed
 * after each execution). Writes are atomic (temporary file, then rename).
 */
export class FileConversationStore implements ConversationStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(taskId: string): string {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(taskId))
      throw new Error(`Task id ${JSON.stringify(taskId)} cannot name a file.`);
    return join(this.#dir, `${taskId}.json`);
  }

  async load(taskId: string): Promise<JsonValue | null> {
    try {
      return JSON.parse(await readFile(this.#path(taskId), 'utf8')) as JsonValue;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async save(taskId: string, state: JsonValue): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const path = this.#path(taskId);
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(state));
    await rename(temporary, path);
  }

  async delete(taskId: string): Promise<void> {
    await rm(this.#path(taskId), { force: true });
  }
}
