import { writeFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import type { CommandRequest, CommandResult, CommandRunner } from '@cap/agent';
import {
  grantWorkspace,
  isSandboxError,
  runInSandbox,
  SANDBOX_WORKSPACE,
  type Sandbox,
  type SandboxBind,
  type SandboxLimits,
} from '@cap/sandbox';

/** Options of a {@link SandboxCommandRunner}: one per execution. */
export interface SandboxCommandRunnerOptions {
  sandbox: Sandbox;
  /** Real (symlink-free) host path of the execution's checkout, bound at /workspace. */
  workspace: string;
  /**
   * Real host path of the task's local origin, or null. Bound into the sandbox for git's fetch (read-only) and
   * push (read-write) to it, and for nothing else: the agent's own commands never see it.
   */
  origin: string | null;
  /**
   * Host directory beside the workspace that commands cannot reach (the execution's control directory); holds the
   * git configuration that trusts the origin.
   */
  controlDir: string;
  /** COMMAND_* limits; `outputBytes` is the hard cap past which a command is killed. */
  limits: SandboxLimits;
  /** After SIGTERM, how long a stopped command's processes have before SIGKILL, ms. */
  killGraceMs: number;
}

/**
 * Moves into the command's directory and sets its HOME before running it: `runInSandbox` starts every command in
 * the workspace with HOME=/workspace, while the agent keeps HOME in an uncommitted directory of its own.
 */
const ENTER = 'cd -- "$1" || exit 126; HOME=$2; export HOME; shift 2; exec "$@"';

/** Where the origin-trusting git configuration is bound in the sandbox (on its private /tmp). */
const ORIGIN_TRUST_TARGET = '/tmp/.cap-origin-trust.gitconfig';

/** Exit code for a command that could not be started (as a shell reports it). */
const NOT_STARTED = 127;

/**
 * `@cap/agent`'s {@link CommandRunner} on `@cap/sandbox`: every command the agent runs — its tools, setup,
 * verification and git on the workspace — runs in the command sandbox (ADR 0011) with the workspace as the only
 * writable path, the environment the agent passes and nothing of the worker's (no model key, no repository
 * token), and the network only when the request asks for it. Output beyond the request's cap is cut with a mark;
 * beyond the sandbox's hard cap the command is killed.
 */
export class SandboxCommandRunner implements CommandRunner {
  readonly #options: SandboxCommandRunnerOptions;
  #trustWritten: Promise<void> | null = null;

  constructor(options: SandboxCommandRunnerOptions) {
    this.#options = options;
  }

  async run(request: CommandRequest): Promise<CommandResult> {
    const started = performance.now();
    const { sandbox, workspace } = this.#options;
    const bwrap = sandbox.mode === 'bwrap';
    const inside = relative(workspace, request.cwd);
    if (inside.startsWith('..') || inside.startsWith(sep)) {
      return refused(started, `The working directory ${request.cwd} is outside the workspace.`);
    }
    const toSandbox = (hostPath: string): string =>
      bwrap ? hostPathInSandbox(workspace, hostPath) : hostPath;
    const env = Object.fromEntries(
      Object.entries(request.env).map(([name, value]) => [name, toSandbox(value)]),
    );
    const home = env['HOME'] ?? (bwrap ? SANDBOX_WORKSPACE : workspace);
    const origin = this.#originBind(request);
    const binds: SandboxBind[] = [];
    if (origin) {
      binds.push(origin);
      // Inside the sandbox the origin's owner is unmapped, and git refuses such a repository ("dubious ownership")
      // unless a protected configuration trusts it; git 2.39 reads safe.directory only from the global and system
      // files. That file lives outside the workspace, so the agent's own commands can never write to it.
      const trust = await this.#originTrust(origin.source);
      env['GIT_CONFIG_GLOBAL'] = bwrap ? ORIGIN_TRUST_TARGET : trust;
      if (bwrap) binds.push({ source: trust, target: ORIGIN_TRUST_TARGET });
    }
    const command = request.argv ? [...request.argv] : ['/bin/sh', '-c', request.shell ?? 'true'];
    // A root worker's sandboxes run as another host user; what the agent wrote with its file tools (as the worker)
    // is handed over before each command, so that the command can change it.
    if (bwrap) await grantWorkspace(sandbox, workspace);

    const kept: Buffer[] = [];
    let keptBytes = 0;
    let truncated = false;
    try {
      const result = await runInSandbox({
        sandbox,
        workspace,
        argv: ['/bin/sh', '-c', ENTER, 'cap-agent-command', toSandbox(request.cwd), home, ...command],
        env,
        binds,
        // git on a local origin needs no network; everything else gets what it asked for.
        network: request.network && !origin,
        limits: this.#options.limits,
        timeoutMs: request.timeoutMs,
        killGraceMs: this.#options.killGraceMs,
        signal: request.signal,
        onOutput: (_stream, chunk) => {
          const room = request.maxOutputBytes - keptBytes;
          if (chunk.length > room) truncated = true;
          if (room <= 0) return;
          kept.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
          keptBytes += Math.min(room, chunk.length);
        },
      });
      const text = Buffer.concat(kept).toString('utf8');
      const cut = truncated || result.reason === 'output_limit';
      return {
        exitCode: result.reason === 'exited' ? result.exitCode : null,
        output: cut ? `${text}\n… [output truncated at ${request.maxOutputBytes} bytes]` : text,
        truncated: cut,
        timedOut: result.reason === 'timeout',
        cancelled: result.reason === 'cancelled',
        durationMs: performance.now() - started,
      };
    } catch (error) {
      if (!isSandboxError(error)) throw error;
      return refused(started, `The command could not start in the sandbox: ${error.message}`);
    }
  }

  /** Writes (once) the git configuration that trusts `origin`, in the control directory beside the workspace. */
  async #originTrust(origin: string): Promise<string> {
    const path = join(this.#options.controlDir, 'origin-trust.gitconfig');
    this.#trustWritten ??= writeFile(path, `[safe]\n\tdirectory = ${origin}\n`, { mode: 0o644 });
    await this.#trustWritten;
    return path;
  }

  /**
   * The origin's bind for git's fetch (read-only) or push (read-write) to it; null for every other command. Only
   * an argv (never a shell line, which is how the agent's own commands run) of `git <options> fetch|push <origin>`
   * gets it.
   */
  #originBind(request: CommandRequest): SandboxBind | null {
    const { origin, sandbox } = this.#options;
    const argv = request.argv;
    if (!origin || sandbox.mode !== 'bwrap' || !argv || argv[0] !== 'git') return null;
    let index = 1;
    while (argv[index] === '-c') index += 2;
    const subcommand = argv[index];
    if (subcommand !== 'fetch' && subcommand !== 'push') return null;
    if (!argv.slice(index + 1).includes(origin)) return null;
    return { source: origin, target: origin, writable: subcommand === 'push' };
  }
}

/** A host path inside the workspace as the sandbox sees it (under /workspace); other values unchanged. */
function hostPathInSandbox(workspace: string, value: string): string {
  if (value === workspace) return SANDBOX_WORKSPACE;
  if (!value.startsWith(`${workspace}/`)) return value;
  return posix.join(SANDBOX_WORKSPACE, value.slice(workspace.length + 1));
}

function refused(started: number, message: string): CommandResult {
  return {
    exitCode: NOT_STARTED,
    output: `${message}\n`,
    truncated: false,
    timedOut: false,
    cancelled: false,
    durationMs: performance.now() - started,
  };
}
