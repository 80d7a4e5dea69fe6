import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { runInSandbox, SANDBOX_WORKSPACE, type OutputStream } from '@cap/sandbox';
import type { CommandSandbox } from './commandSandbox.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { ExecutableTask, ExecutionContext, ExecutionOutcome, Executor } from './executor.js';

/** Options of the {@link ShellExecutor}. */
export interface ShellExecutorOptions {
  /** Where commands run (detected at start); without a sandbox every command is refused. */
  sandbox: CommandSandbox;
  /** Base environment of every command (PATH, LANG). */
  baseEnv: Record<string, string>;
  /** Worker variables passed through to commands; their values are redacted from the logs. */
  passEnv: Record<string, string>;
}

/** Partial lines longer than this are emitted as they are (a command printing without newlines), characters. */
const MAX_PARTIAL_LINE = 64 * 1024;
/** Where the control directory is bound in the sandbox. */
const SANDBOX_CONTROL_DIR = '/task';
/** The input-request file's name in the control directory. */
const INPUT_REQUEST = 'input-request';
/** Longest question read back, bytes. */
const MAX_QUESTION_BYTES = 40_000;
/** 128 + SIGXCPU: the kernel stopped a process at its CPU-time limit. */
const EXIT_CPU_LIMIT = 152;

/**
 * Reads the question a command left, without following a symlink the command may have put there (a link to a
 * host file would otherwise be read by the worker and shown as the task's question).
 */
async function readQuestion(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    if (!(await handle.stat()).isFile()) return '';
    const buffer = Buffer.alloc(MAX_QUESTION_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trim();
  } finally {
    await handle.close();
  }
}

/**
 * The executor for scripted tasks: runs the task's `command` with `/bin/sh -c` in the command sandbox
 * (`@cap/sandbox`, ADR 0011) with the workspace at `/workspace`, streams its output into the task log line by line
 * (pausing the command while the log writer is backed up), and stops the sandbox's whole process tree on cancel
 * or timeout. Past COMMAND_OUTPUT_LIMIT_BYTES of output the command is killed (OUTPUT_LIMIT_EXCEEDED).
 *
 * The command sees `TASK_ID`, `TASK_EXECUTION_ID`, `TASK_ATTEMPT`, `TASK_STRATEGY`, `TASK_WORKSPACE`, `HOME`
 * (the workspace), PATH, LANG, TMPDIR, the passed-through variables, and for questions:
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
    const setup = this.#options.sandbox;
    if (!setup.available) {
      ctx.log.log({
        level: 'ERROR',
        kind: 'STEP',
        message: `The command was not run: no command sandbox is available on this worker (${setup.reason}). Fix: ${setup.fix}.`,
      });
      return {
        kind: 'failed',
        error: {
          code: ExecutionErrorCode.SANDBOX_UNAVAILABLE,
          message: 'The command was not run: no command sandbox is available on this worker.',
          cause: setup.reason,
        },
      };
    }
    const sandboxed = setup.sandbox.mode === 'bwrap';
    if (!sandboxed) {
      ctx.log.log({
        level: 'WARN',
        kind: 'STEP',
        message:
          "COMMAND_SANDBOX=none: this command runs unsandboxed, as the worker's user, with access to its files, environment and network.",
      });
    }
    for (const value of Object.values(this.#options.passEnv)) ctx.log.registerSecret(value);
    const latest = ctx.answers.at(-1);
    const env: Record<string, string> = {
      ...this.#options.baseEnv,
      ...this.#options.passEnv,
      TASK_ID: ctx.task.id,
      TASK_EXECUTION_ID: ctx.execution.id,
      TASK_ATTEMPT: String(ctx.execution.attempt),
      TASK_STRATEGY: ctx.execution.strategy,
      TASK_WORKSPACE: sandboxed ? SANDBOX_WORKSPACE : ctx.workspace.dir,
      TASK_INPUT_REQUEST_FILE: sandboxed
        ? `${SANDBOX_CONTROL_DIR}/${INPUT_REQUEST}`
        : join(ctx.workspace.controlDir, INPUT_REQUEST),
      TASK_ANSWERS: JSON.stringify(ctx.answers),
      ...(latest ? { TASK_INPUT: latest.answer } : {}),
    };
    ctx.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Running the task's shell command (attempt ${ctx.execution.attempt}).`,
    });
    const stderrTail: string[] = [];
    const lines = {
      stdout: new LineSplitter(ctx, 'stdout'),
      stderr: new LineSplitter(ctx, 'stderr', stderrTail),
    };
    const result = await runInSandbox({
      sandbox: setup.sandbox,
      command,
      workspace: ctx.workspace.dir,
      binds: [{ source: ctx.workspace.controlDir, target: SANDBOX_CONTROL_DIR, writable: true }],
      env,
      network: setup.network,
      limits: setup.limits,
      killGraceMs: setup.killGraceMs,
      signal: ctx.signal,
      onOutput: (stream, chunk) => {
        lines[stream].write(chunk);
        // Backpressure: reading pauses until the log writer has room again.
        return ctx.log.waitForCapacity();
      },
    });
    lines.stdout.end();
    lines.stderr.end();
    const seconds = (result.durationMs / 1000).toFixed(1);
    if (ctx.signal.aborted || result.reason === 'cancelled') {
      return {
        kind: 'failed',
        error: { code: ExecutionErrorCode.COMMAND_FAILED, message: 'The command was stopped.' },
      };
    }
    if (result.reason === 'output_limit') {
      const limit = setup.limits.outputBytes;
      ctx.log.log({
        level: 'ERROR',
        kind: 'STEP',
        message: `The command printed more than ${limit} bytes (COMMAND_OUTPUT_LIMIT_BYTES) and was killed after ${seconds} s; the rest of its output was discarded.`,
      });
      return {
        kind: 'failed',
        error: {
          code: ExecutionErrorCode.OUTPUT_LIMIT_EXCEEDED,
          message: `The command printed more than ${limit} bytes and was killed.`,
        },
      };
    }
    if (result.exitCode !== 0) {
      const how =
        result.exitCode === null
          ? `was terminated by ${result.signal ?? 'a signal'}`
          : `exited with code ${result.exitCode}`;
      const why =
        result.exitCode === EXIT_CPU_LIMIT
          ? ` (CPU time limit of ${setup.limits.cpuSeconds} s per process, COMMAND_CPU_SECONDS)`
          : '';
      ctx.log.log({ level: 'ERROR', kind: 'STEP', message: `The command ${how}${why} after ${seconds} s.` });
      return {
        kind: 'failed',
        error: {
          code: ExecutionErrorCode.COMMAND_FAILED,
          message: `The command ${how}${why}.`,
          ...(stderrTail.length > 0 ? { cause: stderrTail.join('\n') } : {}),
        },
        result: { exitCode: result.exitCode },
      };
    }
    const question = (await readQuestion(join(ctx.workspace.controlDir, INPUT_REQUEST))).slice(0, 10_000);
    if (question.length > 0) {
      ctx.log.log({
        level: 'INFO',
        kind: 'STEP',
        message: 'The command asked for input; waiting for the creator to answer.',
      });
      return { kind: 'awaiting_input', question };
    }
    ctx.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `The command exited with code 0 after ${seconds} s.`,
    });
    const changes = await ctx.workspace.changes().catch((error: unknown) => {
      ctx.log.log({
        level: 'WARN',
        kind: 'STEP',
        message: `The changed files could not be listed: ${error instanceof Error ? error.message : String(error)}.`,
      });
      return null;
    });
    return {
      kind: 'succeeded',
      result: {
        summary: `The command exited with code 0 after ${seconds} s.`,
        exitCode: 0,
        ...(changes
          ? {
              changedFiles: changes.files,
              diffStats: {
                filesChanged: changes.files.length,
                additions: changes.additions,
                deletions: changes.deletions,
              },
            }
          : {}),
      },
    };
  }
}

/** Turns one stream's chunks into COMMAND_OUTPUT log entries, one per line (UTF-8 split across chunks is kept whole). */
class LineSplitter {
  readonly #ctx: ExecutionContext;
  readonly #stream: OutputStream;
  readonly #tail: string[] | undefined;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';

  constructor(ctx: ExecutionContext, stream: OutputStream, tail?: string[]) {
    this.#ctx = ctx;
    this.#stream = stream;
    this.#tail = tail;
  }

  write(chunk: Buffer): void {
    const lines = (this.#partial + this.#decoder.write(chunk)).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#emit(line);
    if (this.#partial.length > MAX_PARTIAL_LINE) {
      this.#emit(this.#partial);
      this.#partial = '';
    }
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#emit(rest);
  }

  #emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    this.#ctx.log.log({
      level: 'INFO',
      kind: 'COMMAND_OUTPUT',
      message: text,
      data: { stream: this.#stream },
      stream: this.#stream,
    });
    if (this.#tail) {
      this.#tail.push(text);
      if (this.#tail.length > 20) this.#tail.shift();
    }
  }
}
