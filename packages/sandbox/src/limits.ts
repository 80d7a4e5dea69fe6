import { SandboxError, SandboxErrorCode } from './errors.js';

/** Resource limits of one sandboxed run. Each is per run, except where a process-level rlimit says otherwise. */
export interface SandboxLimits {
  /** CPU time of each process (RLIMIT_CPU), seconds; the process gets SIGXCPU, then SIGKILL. */
  cpuSeconds: number;
  /** Address space of each process (RLIMIT_AS), bytes; allocations beyond it fail. */
  memoryBytes: number;
  /**
   * Processes and threads the sandbox may hold at once (RLIMIT_NPROC in the sandbox's own user namespace, under
   * an unprivileged uid, so it counts this sandbox only); a fork bomb hits it and forks fail.
   */
  processes: number;
  /** Largest file a process may write (RLIMIT_FSIZE), bytes. */
  fileSizeBytes: number;
  /** Size of the private `/tmp` and `/dev/shm` (tmpfs, memory), bytes each. */
  tmpBytes: number;
  /** stdout and stderr together; beyond it the whole tree is killed (`reason: 'output_limit'`), bytes. */
  outputBytes: number;
}

const MiB = 1024 * 1024;

/** Defaults of {@link SandboxLimits}: generous for builds and tests, small enough to keep a machine usable. */
export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  cpuSeconds: 600,
  memoryBytes: 4096 * MiB,
  processes: 256,
  fileSizeBytes: 1024 * MiB,
  tmpBytes: 512 * MiB,
  outputBytes: 16 * MiB,
});

/**
 * The defaults overridden by `limits`.
 * @throws {SandboxError} SANDBOX_INVALID_OPTIONS when a limit is not a positive integer
 */
export function resolveLimits(limits: Partial<SandboxLimits> = {}): SandboxLimits {
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SandboxError(
        SandboxErrorCode.INVALID_OPTIONS,
        `limit ${name} must be a positive integer, got ${String(value)}`,
      );
    }
  }
  return resolved;
}
