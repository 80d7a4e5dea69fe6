/** How commands run: in a bubblewrap sandbox, or (explicitly chosen, unsafe) directly on the host. */
export type SandboxMode = 'bwrap' | 'none';

/** The user a bubblewrap sandbox runs as on the host. */
export interface HostUser {
  uid: number;
  gid: number;
}

/**
 * A sandbox that works on this machine, as found by `detectSandbox`. Pass it to `runInSandbox`.
 *
 * In `bwrap` mode, commands run in new user, pid, ipc, uts, cgroup and (unless allowed) network namespaces, as
 * uid/gid {@link SANDBOX_UID} inside, with the workspace as the only writable host path. In `none` mode they run
 * on the host as the worker's user, in their own process group, with a scrubbed environment and nothing else:
 * only for development machines where that is understood.
 */
export interface Sandbox {
  readonly mode: SandboxMode;
  /** Absolute path of `bwrap` (bwrap mode). */
  readonly bwrapPath: string;
  /** Absolute path of `prlimit` (util-linux), which applies the rlimits inside the sandbox (bwrap mode). */
  readonly prlimitPath: string;
  /**
   * The host user bubblewrap is started as, or null for the worker's own. A root worker must not run commands as
   * root: root is exempt from RLIMIT_NPROC (a fork bomb would not be contained) and owns the host's files.
   */
  readonly hostUser: HostUser | null;
  /** Optional bubblewrap features this version supports. */
  readonly features: { disableUserns: boolean; tmpfsSize: boolean };
  /** Extra host paths bound read-only at the same place (toolchains outside /usr, e.g. `/opt/jdk`). */
  readonly readOnlyPaths: readonly string[];
}

/** The uid and gid commands have inside a bubblewrap sandbox. */
export const SANDBOX_UID = 1000;

/** Where the workspace is bound inside a bubblewrap sandbox (also the command's cwd and HOME). */
export const SANDBOX_WORKSPACE = '/workspace';

/** PATH of commands when the caller passes none. */
export const DEFAULT_SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The unsandboxed runner: commands run on the host as the worker's user (`COMMAND_SANDBOX=none`). */
export function unsandboxed(): Sandbox {
  return {
    mode: 'none',
    bwrapPath: '',
    prlimitPath: '',
    hostUser: null,
    features: { disableUserns: false, tmpfsSize: false },
    readOnlyPaths: [],
  };
}
