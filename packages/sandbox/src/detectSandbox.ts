import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, lstat, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { runInSandbox } from './runInSandbox.js';
import {
  DEFAULT_SANDBOX_PATH,
  unsandboxed,
  type HostUser,
  type Sandbox,
  type SandboxMode,
} from './Sandbox.js';
import { grantWorkspace } from './workspaceOwner.js';

/** What `detectSandbox` looks for. */
export interface DetectSandboxOptions {
  /** `none` skips detection and returns the unsandboxed runner. */
  mode: SandboxMode;
  /** Where workspaces will live: the probe runs in a directory there, so a root the sandbox cannot reach fails here. */
  workspaceRoot: string;
  /** PATH to find `bwrap` and `prlimit` on (default {@link DEFAULT_SANDBOX_PATH}). */
  path?: string;
  /** Host user for sandboxes when the worker runs as root (default 65534:65534, `nobody`). */
  rootHostUser?: HostUser;
  /** Extra read-only binds (see {@link Sandbox.readOnlyPaths}). */
  readOnlyPaths?: readonly string[];
  /** Time allowed for the probe, ms (default 15_000). */
  timeoutMs?: number;
}

/** The outcome of `detectSandbox`. */
export type SandboxDetection =
  | { available: true; sandbox: Sandbox; description: string }
  | { available: false; code: typeof SandboxErrorCode.UNAVAILABLE; reason: string; fix: string };

const NOBODY: HostUser = { uid: 65534, gid: 65534 };

function findExecutable(name: string, path: string): string | null {
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

function bwrapHelp(bwrapPath: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(bwrapPath, ['--help'], { timeout: 5_000, env: {} }, (_error, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
  });
}

/**
 * A root worker's sandboxes are set up by bubblewrap running as the sandbox's host user, which must be able to
 * reach each workspace. A workspace root this worker owns without search permission for others (e.g. made by
 * mkdtemp, mode 0700) gets it: search only, so its entries can still not be listed, and the sandbox itself never
 * sees it. Ancestors are left alone (a root that stays unreachable fails the probe with its fix).
 */
async function allowSearch(workspaceRoot: string): Promise<void> {
  const stat = await lstat(workspaceRoot).catch(() => null);
  if (!stat?.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o001) !== 0) return;
  await chmod(workspaceRoot, (stat.mode & 0o7777) | 0o111);
}

const INSTALL_FIX = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and util-linux (prlimit)';
const USERNS_FIX =
  'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0; in a container: security_opt seccomp=unconfined and apparmor=unconfined, or cap_add SYS_ADMIN), ' +
  'and make the workspace root reachable (search permission) by the sandbox user';

/**
 * Finds out once, at start, whether commands can be sandboxed here: `bwrap` and `prlimit` exist, and a probe
 * actually runs in a sandbox with every namespace, the limits, a workspace under `workspaceRoot`, and the uid
 * switch a root worker needs (user namespaces may be disabled by the kernel, a container's seccomp profile or
 * AppArmor). Never throws for an unavailable sandbox: the answer says why and how to fix it.
 */
export async function detectSandbox(options: DetectSandboxOptions): Promise<SandboxDetection> {
  if (options.mode === 'none')
    return { available: true, sandbox: unsandboxed(), description: 'unsandboxed (COMMAND_SANDBOX=none)' };
  const path = options.path ?? DEFAULT_SANDBOX_PATH;
  const bwrapPath = findExecutable('bwrap', path);
  const prlimitPath = findExecutable('prlimit', path);
  if (!bwrapPath || !prlimitPath) {
    return {
      available: false,
      code: SandboxErrorCode.UNAVAILABLE,
      reason: `${bwrapPath ? 'prlimit' : 'bwrap'} was not found on PATH (${path})`,
      fix: INSTALL_FIX,
    };
  }
  const help = await bwrapHelp(bwrapPath);
  const hostUser = process.getuid?.() === 0 ? (options.rootHostUser ?? NOBODY) : null;
  const sandbox: Sandbox = {
    mode: 'bwrap',
    bwrapPath,
    prlimitPath,
    hostUser,
    features: { disableUserns: help.includes('--disable-userns'), tmpfsSize: help.includes('--size') },
    readOnlyPaths: [...(options.readOnlyPaths ?? [])],
  };
  let probeDir: string | null = null;
  try {
    if (hostUser) await allowSearch(options.workspaceRoot);
    probeDir = await mkdtemp(join(options.workspaceRoot, 'cap-sandbox-probe-'));
    await grantWorkspace(sandbox, probeDir);
    let output = '';
    const result = await runInSandbox({
      sandbox,
      workspace: probeDir,
      // Writes the workspace, sees only its own processes, and can start a child under the limits.
      command: 'touch /workspace/.probe && test "$(id -u)" = 1000 && /bin/sh -c "echo sandboxed"',
      timeoutMs: options.timeoutMs ?? 15_000,
      killGraceMs: 0,
      onOutput: (_stream, chunk) => {
        if (output.length < 4_000) output += chunk.toString('utf8');
      },
    });
    if (result.exitCode !== 0 || !output.includes('sandboxed')) {
      const why =
        result.reason === 'timeout'
          ? 'the probe timed out'
          : `the probe failed (exit ${result.exitCode ?? result.signal}): ${output.trim().slice(0, 500)}`;
      return {
        available: false,
        code: SandboxErrorCode.UNAVAILABLE,
        reason: `bubblewrap at ${bwrapPath} cannot sandbox commands here: ${why}`,
        fix: USERNS_FIX,
      };
    }
  } catch (error) {
    const message = error instanceof SandboxError || error instanceof Error ? error.message : String(error);
    return {
      available: false,
      code: SandboxErrorCode.UNAVAILABLE,
      reason: `the sandbox probe could not run: ${message}`,
      fix: USERNS_FIX,
    };
  } finally {
    if (probeDir) await rm(probeDir, { recursive: true, force: true }).catch(() => undefined);
  }
  const as = hostUser ? `host uid ${hostUser.uid}` : `the worker's uid ${process.getuid?.() ?? '?'}`;
  return { available: true, sandbox, description: `bubblewrap ${bwrapPath} (sandbox uid 1000 = ${as})` };
}
