/**
 * Child processes of the federation benchmark: each announces itself with one JSON line on stdout and stops when
 * its stdin closes; their CPU time is read from /proc, so the benchmark reports CPU per request (steadier than
 * requests/s on a shared machine).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A running child process of the benchmark. */
export interface BenchProcess<T> {
  /** What it announced. */
  announced: T;
  /** CPU time (user + system) it has used so far, in milliseconds. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS = 100;

/** Starts `bench/federation/<script>` under tsx with `args` and `env` added to this process's environment. */
export async function startBenchProcess<T>(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  nodeFlags: readonly string[] = [],
): Promise<BenchProcess<T>> {
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', '--conditions=source', join(import.meta.dirname, script), ...args],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    announced: JSON.parse(first) as T,
    cpuMs: () => {
      // Fields 14 and 15 (utime, stime) after the parenthesised command name.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    },
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
