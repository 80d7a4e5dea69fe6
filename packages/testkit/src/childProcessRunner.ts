import { spawn } from 'node:child_process';

/** One command, shaped like `@cap/agent`'s `CommandRequest` (restated so that the testkit depends on no package it serves). */
export interface ChildCommandRequest {
  argv?: readonly string[];
  shell?: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  network: boolean;
  signal: AbortSignal;
}

/** What a command did, shaped like `@cap/agent`'s `CommandResult`. */
export interface ChildCommandResult {
  exitCode: number | null;
  output: string;
  truncated: boolean;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
}

/**
 * A test `CommandRunner` (`@cap/agent`'s port, structurally): real processes through node's child_process, each in its own process
 * group (so timeout and cancel kill the whole tree), without network (`unshare -n`) unless allowed. Production
 * uses `@cap/sandbox`; this one makes the agent's logic run real commands in the tests. Records every request.
 */
export class ChildProcessRunner {
  readonly requests: ChildCommandRequest[] = [];

  /** Runs one command; never rejects (a program that cannot start exits 127). */
  run(request: ChildCommandRequest): Promise<ChildCommandResult> {
    this.requests.push(request);
    const started = performance.now();
    const argv = request.argv ? [...request.argv] : ['/bin/sh', '-c', request.shell ?? 'true'];
    const full = request.network ? argv : ['unshare', '-n', '--', ...argv];
    return new Promise((resolve) => {
      const child = spawn(full[0]!, full.slice(1), {
        cwd: request.cwd,
        env: request.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      let timedOut = false;
      let cancelled = false;
      const collect = (chunk: Buffer): void => {
        if (size >= request.maxOutputBytes) {
          truncated = true;
          return;
        }
        const room = request.maxOutputBytes - size;
        if (chunk.length > room) truncated = true;
        chunks.push(chunk.subarray(0, room));
        size += Math.min(room, chunk.length);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const kill = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, request.timeoutMs);
      const onAbort = (): void => {
        cancelled = true;
        kill();
      };
      if (request.signal.aborted) onAbort();
      else request.signal.addEventListener('abort', onAbort, { once: true });
      const finish = (exitCode: number | null, extra = ''): void => {
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        const output = Buffer.concat(chunks).toString('utf8') + extra;
        resolve({
          exitCode,
          output: truncated ? `${output}\n… [output truncated at ${request.maxOutputBytes} bytes]` : output,
          truncated,
          timedOut,
          cancelled,
          durationMs: performance.now() - started,
        });
      };
      child.on('error', (error) => finish(127, `${error.message}\n`));
      child.on('close', (code) => finish(timedOut || cancelled ? null : code));
    });
  }
}
