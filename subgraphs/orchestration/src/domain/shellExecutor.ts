import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ExecutionErrorCode } from './errors.js';
import type { ExecutableTask, ExecutionContext, ExecutionOutcome, Executor } from './executor.js';

/** Options of the {@link ShellExecutor}. */
export interface ShellExecutorOptions {
  /** Base environment of every command (PATH, LANG). */
  baseEnv: Record<string, string>;
  /** Worker variables passed through to commands; their values are redacted from the logs. */
  passEnv: Record<string, string>;
  /** After SIGTERM, how long the process group has before SIGKILL, ms. */
  killGraceMs: number;
}

/** Partial lines longer than this are emitted as they are (a command printing without newlines), characters. */
const MAX_PARTIAL_LINE = 64 * 1024;
/** How long the streams may stay open after the command exited before the group is killed, ms. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Runs `/bin/sh -c "$CAP_TASK_COMMAND"` inside a small supervisor script, in its own process group:
 *
 * - the command's stdin is /dev/null; its stdout and stderr reach the worker line by line;
 * - a watcher in the group reads the worker's end of a pipe and, when it closes (the command finished, or the
 *   worker died, even by SIGKILL), kills the whole group: no orphaned processes outlive their execution;
 * - the exit status of the script is the command's.
 */
const SUPERVISOR = [
  'exec 3<&0 0</dev/null',
  '/bin/sh -c "$CAP_TASK_COMMAND" 3<&- &',
  'cmd=$!',
  '(cat <&3 >/dev/null 2>&1; kill -KILL 0 2>/dev/null) >/dev/null 2>&1 &',
  'exec 3<&-',
  'wait "$cmd"',
].join('\n');

/**
 * The executor for scripted tasks: runs the task's `command` with `/bin/sh` in the workspace, streams its
 * output into the task log line by line, and kills its whole process group on cancel or timeout.
 *
 * The command sees `TASK_ID`, `TASK_EXECUTION_ID`, `TASK_ATTEMPT`, `TASK_STRATEGY`, `TASK_WORKSPACE`, `HOME`
 * (the workspace), PATH and LANG, the passed-through variables, and for questions:
 * - to ask the creator something, write the question to the file named by `TASK_INPUT_REQUEST_FILE` and exit 0:
 *   the task becomes AWAITING_INPUT; once answered it runs again with
 * - `TASK_INPUT`, the latest answer, and `TASK_ANSWERS`, a JSON array of every `{ question, answer }` so far.
 */
export class ShellExecutor implements Executor {
  readonly name = 'shell';
  readonly #options: ShellExecutorOptions;

  constructor(options: ShellExecutorOptions) {
    this.#options = options;
  }

  canExecute(task: ExecutableTask): boolean {
    return task.command !== null && task.command.trim().length > 0;
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const command = ctx.task.command ?? '';
    for (const value of Object.values(this.#options.passEnv)) ctx.log.registerSecret(value);
    const inputRequestFile = `${ctx.workspace.dir}.input-request`;
    const latest = ctx.answers.at(-1);
    const env: Record<string, string> = {
      ...this.#options.baseEnv,
      ...this.#options.passEnv,
      HOME: ctx.workspace.dir,
      TASK_ID: ctx.task.id,
      TASK_EXECUTION_ID: ctx.execution.id,
      TASK_ATTEMPT: String(ctx.execution.attempt),
      TASK_STRATEGY: ctx.execution.strategy,
      TASK_WORKSPACE: ctx.workspace.dir,
      TASK_INPUT_REQUEST_FILE: inputRequestFile,
      TASK_ANSWERS: JSON.stringify(ctx.answers),
      ...(latest ? { TASK_INPUT: latest.answer } : {}),
      CAP_TASK_COMMAND: command,
    };
    ctx.log.log({ level: 'INFO', kind: 'STEP', message: `Running the task's shell command (attempt ${ctx.execution.attempt}).` });
    const started = performance.now();
    try {
      const exit = await this.#run(ctx, env);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (ctx.signal.aborted) {
        return { kind: 'failed', error: { code: ExecutionErrorCode.COMMAND_FAILED, message: 'The command was stopped.' } };
      }
      if (exit.code !== 0) {
        const how = exit.code === null ? `was terminated by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`;
        ctx.log.log({ level: 'ERROR', kind: 'STEP', message: `The command ${how} after ${seconds} s.` });
        return {
          kind: 'failed',
          error: {
            code: ExecutionErrorCode.COMMAND_FAILED,
            message: `The command ${how}.`,
            ...(exit.stderrTail.length > 0 ? { cause: exit.stderrTail.join('\n') } : {}),
          },
          result: { exitCode: exit.code },
        };
      }
      const question = (await readFile(inputRequestFile, 'utf8').catch(() => '')).trim();
      if (question.length > 0) {
        ctx.log.log({ level: 'INFO', kind: 'STEP', message: 'The command asked for input; waiting for the creator to answer.' });
        return { kind: 'awaiting_input', question: question.slice(0, 10_000) };
      }
      ctx.log.log({ level: 'INFO', kind: 'STEP', message: `The command exited with code 0 after ${seconds} s.` });
      const changes = await ctx.workspace.changes().catch(() => null);
      return {
        kind: 'succeeded',
        result: {
          summary: `The command exited with code 0 after ${seconds} s.`,
          exitCode: 0,
          ...(changes
            ? {
                changedFiles: changes.files,
                diffStats: { filesChanged: changes.files.length, additions: changes.additions, deletions: changes.deletions },
              }
            : {}),
        },
      };
    } finally {
      await rm(inputRequestFile, { force: true });
    }
  }

  /** Runs the supervisor; resolves when it exited and its output was read. */
  #run(
    ctx: ExecutionContext,
    env: Record<string, string>,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderrTail: string[] }> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', SUPERVISOR], {
        cwd: ctx.workspace.dir,
        env,
        // Its own process group (pgid = pid), so the whole tree can be signalled at once.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const stderrTail: string[] = [];
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let killTimer: NodeJS.Timeout | null = null;
      let closeTimer: NodeJS.Timeout | null = null;

      const signalGroup = (signal: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // The group is gone already.
        }
      };
      const onAbort = (): void => {
        ctx.log.log({ level: 'WARN', kind: 'STEP', message: 'Stopping the command.' });
        signalGroup('SIGTERM');
        killTimer ??= setTimeout(() => signalGroup('SIGKILL'), this.#options.killGraceMs);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (ctx.signal.aborted) onAbort();

      const pumps = [this.#pump(ctx, child.stdout, 'stdout'), this.#pump(ctx, child.stderr, 'stderr', stderrTail)];
      // The worker's end of the watcher's pipe: closing it (here, or by dying) kills what is left of the group.
      child.stdin.on('error', () => undefined);

      child.once('error', (error) => {
        ctx.signal.removeEventListener('abort', onAbort);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        child.stdin.end();
        // Background processes the command left may hold the pipes open: give them a moment, then kill.
        closeTimer = setTimeout(() => {
          signalGroup('SIGKILL');
          child.stdout.destroy();
          child.stderr.destroy();
        }, CLOSE_GRACE_MS);
      });
      child.once('close', () => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (closeTimer) clearTimeout(closeTimer);
        // Whatever survived in the group (only possible if the watcher itself was killed) goes now.
        signalGroup('SIGKILL');
        void Promise.all(pumps).then(() => resolve({ code: exit?.code ?? null, signal: exit?.signal ?? null, stderrTail }));
      });
    });
  }

  /** Reads a stream line by line into the task log, pausing it while the log writer is backed up. */
  async #pump(ctx: ExecutionContext, stream: Readable, name: 'stdout' | 'stderr', tail?: string[]): Promise<void> {
    stream.setEncoding('utf8');
    let partial = '';
    const emit = (line: string): void => {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      ctx.log.log({ level: 'INFO', kind: 'COMMAND_OUTPUT', message: text, data: { stream: name }, stream: name });
      if (tail) {
        tail.push(text);
        if (tail.length > 20) tail.shift();
      }
    };
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) emit(line);
        if (partial.length > MAX_PARTIAL_LINE) {
          emit(partial);
          partial = '';
        }
        // Backpressure: the for-await does not read the next chunk until the writer has room.
        await ctx.log.waitForCapacity();
      }
    } catch {
      // The stream was destroyed after the command exited (a leftover process held it open): keep what was read.
    }
    if (partial.length > 0) emit(partial);
  }
}
