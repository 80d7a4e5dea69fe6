import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ACCOUNT_FILES, bwrapArgs, GROUP_FD, PASSWD_FD, prlimitArgs, type SandboxBind } from './bwrapArgs.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { resolveLimits, type SandboxLimits } from './limits.js';
import { descendants, signalProcess } from './processTree.js';
import { DEFAULT_SANDBOX_PATH, SANDBOX_WORKSPACE, type Sandbox } from './Sandbox.js';

/** Which of the command's streams a chunk came from. */
export type OutputStream = 'stdout' | 'stderr';

/** What one sandboxed run does. */
export interface RunInSandboxOptions {
  /** From `detectSandbox` (or `unsandboxed()` for COMMAND_SANDBOX=none). */
  sandbox: Sandbox;
  /** A shell command, run with `/bin/sh -c`; or give `argv`. */
  command?: string;
  /** The program and its arguments, run without a shell. */
  argv?: readonly string[];
  /** Absolute host path of the workspace: the only writable host directory, the cwd and HOME. */
  workspace: string;
  /** More host paths to bind (e.g. a control directory); read-only unless `writable`. */
  binds?: readonly SandboxBind[];
  /**
   * The command's whole environment besides PATH (default {@link DEFAULT_SANDBOX_PATH}), LANG (default C.UTF-8),
   * HOME (the workspace) and TMPDIR (/tmp in the sandbox). Nothing of the caller's own environment is added.
   */
  env?: Record<string, string>;
  /** Share the host's network (default false: a private network namespace with only loopback). */
  network?: boolean;
  limits?: Partial<SandboxLimits>;
  /** Wall-clock limit, ms; then the tree is stopped with `reason: 'timeout'`. */
  timeoutMs?: number;
  /** After SIGTERM, how long the command's processes have before SIGKILL, ms (default 2_000). */
  killGraceMs?: number;
  /** Aborting stops the tree with `reason: 'cancelled'`. */
  signal?: AbortSignal;
  /**
   * Receives output as it is read. A returned promise pauses reading that stream until it settles
   * (backpressure: a command printing faster than the consumer can keep up is slowed down, not buffered).
   */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void | Promise<void>;
}

/** Why a run ended: it exited by itself, or it was stopped for one of the other reasons. */
export type SandboxExitReason = 'exited' | 'timeout' | 'cancelled' | 'output_limit';

/** How a run ended. */
export interface SandboxResult {
  /** The command's exit code (128 + n when bubblewrap reports it killed by signal n); null when signalled. */
  exitCode: number | null;
  /** The signal that ended the sandbox process, if any. */
  signal: NodeJS.Signals | null;
  reason: SandboxExitReason;
  /** Bytes of stdout and stderr read (at most `limits.outputBytes`). */
  outputBytes: number;
  durationMs: number;
}

const DEFAULT_KILL_GRACE_MS = 2_000;
/** How long the output pipes may stay open after the sandbox process exited, ms (then they are closed). */
const CLOSE_GRACE_MS = 2_000;

/**
 * Unsandboxed mode's supervisor, in its own process group: a watcher kills the group when the worker's end of a
 * pipe closes (the command finished, or the worker died, even by SIGKILL). Processes that leave the group
 * (`setsid`) escape it: only bubblewrap's pid namespace contains everything.
 */
const SUPERVISOR = [
  'exec 3<&0 0</dev/null',
  '"$@" 3<&- &',
  'cmd=$!',
  '(cat <&3 >/dev/null 2>&1; kill -KILL 0 2>/dev/null) >/dev/null 2>&1 &',
  'exec 3<&-',
  'wait "$cmd"',
].join('\n');

function commandArgv(options: RunInSandboxOptions): string[] {
  if (options.argv && options.argv.length > 0) return [...options.argv];
  if (options.command !== undefined && options.command.trim().length > 0)
    return ['/bin/sh', '-c', options.command];
  throw new SandboxError(SandboxErrorCode.INVALID_OPTIONS, 'runInSandbox needs a command or argv');
}

function environment(options: RunInSandboxOptions, bwrap: boolean): Record<string, string> {
  const env = options.env ?? {};
  return {
    PATH: DEFAULT_SANDBOX_PATH,
    LANG: 'C.UTF-8',
    ...env,
    HOME: bwrap ? SANDBOX_WORKSPACE : options.workspace,
    ...(bwrap ? { TMPDIR: '/tmp' } : {}),
  };
}

/**
 * Runs a command in the sandbox and resolves when it ended and its output was delivered. Everything it started
 * ends with it: in bwrap mode the sandbox's pid namespace dies with its init, taking background processes,
 * `setsid` and `nohup` daemons along. On cancel or timeout its processes get SIGTERM, then SIGKILL after
 * `killGraceMs`; past `limits.outputBytes` of output they get SIGKILL at once.
 * @throws {SandboxError} SANDBOX_INVALID_OPTIONS for bad options; SANDBOX_SPAWN_FAILED when nothing could start
 */
export function runInSandbox(options: RunInSandboxOptions): Promise<SandboxResult> {
  const argv = commandArgv(options);
  const limits = resolveLimits(options.limits);
  if (!isAbsolute(options.workspace)) {
    throw new SandboxError(
      SandboxErrorCode.INVALID_OPTIONS,
      `the workspace must be an absolute path, got ${options.workspace}`,
    );
  }
  const { sandbox } = options;
  const bwrap = sandbox.mode === 'bwrap';
  const started = performance.now();
  if (options.signal?.aborted) {
    return Promise.resolve({
      exitCode: null,
      signal: null,
      reason: 'cancelled',
      outputBytes: 0,
      durationMs: 0,
    });
  }

  let child: ChildProcess;
  try {
    child = bwrap
      ? spawn(
          sandbox.bwrapPath,
          [
            ...bwrapArgs(sandbox, {
              workspace: options.workspace,
              binds: options.binds ?? [],
              network: options.network ?? false,
              limits,
            }),
            ...prlimitArgs(sandbox, limits),
            ...argv,
          ],
          {
            // bubblewrap's own environment is what its init (pid 1 in the sandbox) shows in /proc/1/environ.
            env: environment(options, true),
            stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
            detached: true,
            ...(sandbox.hostUser ? { uid: sandbox.hostUser.uid, gid: sandbox.hostUser.gid } : {}),
          },
        )
      : spawn('/bin/sh', ['-c', SUPERVISOR, 'supervisor', ...argv], {
          cwd: options.workspace,
          env: environment(options, false),
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
  } catch (error) {
    throw new SandboxError(
      SandboxErrorCode.SPAWN_FAILED,
      `the sandbox could not be started: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (bwrap) {
    for (const [fd, content] of [
      [PASSWD_FD, ACCOUNT_FILES.passwd],
      [GROUP_FD, ACCOUNT_FILES.group],
    ] as const) {
      const pipe = child.stdio[fd] as Writable | null;
      pipe?.on('error', () => undefined);
      pipe?.end(content);
    }
  } else {
    // The supervisor's watcher pipe: closing it (here, or by dying) kills what is left of the group.
    child.stdin?.on('error', () => undefined);
  }

  return new Promise<SandboxResult>((resolve, reject) => {
    let reason: SandboxExitReason | null = null;
    let outputBytes = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    let closeTimer: NodeJS.Timeout | null = null;
    const deliveries: Array<Promise<void>> = [];

    // bubblewrap's tree is found by pid, so only while bubblewrap has not exited (afterwards its pid may belong to
    // someone else); an unsandboxed process group cannot be reused while any member is left.
    const killAll = (): void => {
      if (child.pid === undefined || (bwrap && exit !== null)) return;
      if (bwrap) {
        // The sandbox's init first: its death makes the kernel kill every process of its pid namespace.
        for (const pid of descendants(child.pid)) signalProcess(pid, 'SIGKILL');
        signalProcess(child.pid, 'SIGKILL');
      } else {
        signalProcess(-child.pid, 'SIGKILL');
      }
    };
    const stop = (why: SandboxExitReason, graceMs: number): void => {
      if (reason !== null || exit !== null || child.pid === undefined) return;
      reason = why;
      if (graceMs <= 0) return killAll();
      if (bwrap) {
        // Everything below the sandbox's init (which ignores SIGTERM, as a pid-namespace init does) gets SIGTERM.
        for (const pid of descendants(child.pid).slice(1)) signalProcess(pid, 'SIGTERM');
      } else {
        signalProcess(-child.pid, 'SIGTERM');
      }
      killTimer = setTimeout(killAll, graceMs);
    };

    const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    const onAbort = (): void => stop('cancelled', graceMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout =
      options.timeoutMs !== undefined ? setTimeout(() => stop('timeout', graceMs), options.timeoutMs) : null;

    const pump = (stream: Readable | null, name: OutputStream): void => {
      if (!stream) return;
      stream.on('error', () => undefined);
      stream.on('data', (chunk: Buffer) => {
        // One byte past the limit is over it, also when earlier chunks filled it exactly.
        if (outputBytes >= limits.outputBytes) return stop('output_limit', 0);
        let piece = chunk;
        if (outputBytes + chunk.length > limits.outputBytes) {
          piece = chunk.subarray(0, limits.outputBytes - outputBytes);
          stop('output_limit', 0);
        }
        outputBytes += piece.length;
        if (!options.onOutput) return;
        let delivered: void | Promise<void>;
        try {
          delivered = options.onOutput(name, piece);
        } catch {
          return;
        }
        if (delivered instanceof Promise) {
          stream.pause();
          deliveries.push(delivered.catch(() => undefined).finally(() => stream.resume()));
        }
      });
    };
    pump(child.stdout, 'stdout');
    pump(child.stderr, 'stderr');

    const cleanup = (): void => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      if (closeTimer) clearTimeout(closeTimer);
    };
    child.once('error', (error) => {
      cleanup();
      reject(
        new SandboxError(
          SandboxErrorCode.SPAWN_FAILED,
          `the sandbox could not be started: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (!bwrap) child.stdin?.end();
      // Leftover processes (only possible unsandboxed) may hold the pipes open: give them a moment, then kill
      // their group (bubblewrap's pid namespace is gone with its init already).
      closeTimer = setTimeout(() => {
        if (!bwrap && child.pid !== undefined) signalProcess(-child.pid, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, CLOSE_GRACE_MS);
    });
    child.once('close', () => {
      cleanup();
      // Unsandboxed, whatever is left of the group (only possible if the watcher itself was killed) goes now.
      if (!bwrap && child.pid !== undefined) signalProcess(-child.pid, 'SIGKILL');
      void (async () => {
        for (let settled = 0; settled < deliveries.length; ) {
          const upTo = deliveries.length;
          await Promise.all(deliveries.slice(settled, upTo));
          settled = upTo;
        }
        resolve({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          reason: reason ?? 'exited',
          outputBytes,
          durationMs: performance.now() - started,
        });
      })();
    });
  });
}
