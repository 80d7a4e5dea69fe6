import { lstatSync, readlinkSync } from 'node:fs';
import type { SandboxLimits } from './limits.js';
import { SANDBOX_UID, SANDBOX_WORKSPACE, type Sandbox } from './Sandbox.js';

/** A host path bound into the sandbox besides the workspace. */
export interface SandboxBind {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  /** Read-write when true (default read-only). */
  writable?: boolean;
}

/**
 * The top-level system directories commands need to find programs and libraries. On merged-/usr systems most
 * are symlinks into /usr and are recreated as symlinks; real directories are bound read-only.
 */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * The pieces of /etc a toolchain needs without network: the dynamic loader's cache, Debian's alternatives
 * (e.g. `awk`), time zone and name-service switch. Not /etc wholesale: it holds host configuration and
 * sometimes credentials. `passwd` and `group` are generated (the sandbox user only).
 */
const ETC_FILES = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/nsswitch.conf',
];

/** With network: name resolution and the CA certificates TLS clients need. */
const NETWORK_ETC_FILES = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/gai.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/ca-certificates.conf',
];

/** File descriptors of the child (after stdin, stdout, stderr) carrying the generated /etc/passwd and /etc/group. */
export const PASSWD_FD = 3;
export const GROUP_FD = 4;

/** The generated account files, written to {@link PASSWD_FD} and {@link GROUP_FD}. */
export const ACCOUNT_FILES = {
  passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:${SANDBOX_UID}:${SANDBOX_UID}:sandbox:${SANDBOX_WORKSPACE}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  group: `root:x:0:\nsandbox:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`,
};

function systemBinds(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

/**
 * The bubblewrap arguments for one run, up to and including `--` (the command follows). Namespaces: user, pid,
 * ipc, uts, cgroup, and net unless `network`; nested user namespaces are refused where bubblewrap supports it.
 * Mounts: system directories and a few /etc files read-only, a fresh /proc for the new pid namespace, a minimal
 * /dev, size-capped tmpfs on /tmp and /dev/shm, the workspace read-write at {@link SANDBOX_WORKSPACE}, the
 * caller's binds, and the root itself remounted read-only (nothing else is writable).
 */
export function bwrapArgs(
  sandbox: Sandbox,
  options: { workspace: string; binds: readonly SandboxBind[]; network: boolean; limits: SandboxLimits },
): string[] {
  const size = (bytes: number): string[] => (sandbox.features.tmpfsSize ? ['--size', String(bytes)] : []);
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(options.network ? [] : ['--unshare-net']),
    ...(sandbox.features.disableUserns ? ['--disable-userns'] : []),
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'sandbox',
    '--die-with-parent',
    '--new-session',
    ...systemBinds(),
  ];
  for (const path of [...ETC_FILES, ...(options.network ? NETWORK_ETC_FILES : [])])
    args.push('--ro-bind-try', path, path);
  args.push(
    '--ro-bind-data',
    String(PASSWD_FD),
    '/etc/passwd',
    '--ro-bind-data',
    String(GROUP_FD),
    '/etc/group',
  );
  for (const path of sandbox.readOnlyPaths) args.push('--ro-bind-try', path, path);
  args.push('--proc', '/proc', '--dev', '/dev', ...size(options.limits.tmpBytes), '--tmpfs', '/dev/shm');
  args.push(...size(options.limits.tmpBytes), '--tmpfs', '/tmp');
  args.push('--bind', options.workspace, SANDBOX_WORKSPACE);
  for (const bind of options.binds)
    args.push(bind.writable ? '--bind' : '--ro-bind', bind.source, bind.target);
  args.push('--remount-ro', '/', '--chdir', SANDBOX_WORKSPACE, '--');
  return args;
}

/** `prlimit` arguments that apply `limits` to the command and everything it starts, up to and including `--`. */
export function prlimitArgs(sandbox: Sandbox, limits: SandboxLimits): string[] {
  return [
    sandbox.prlimitPath,
    `--cpu=${limits.cpuSeconds}`,
    `--as=${limits.memoryBytes}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.fileSizeBytes}`,
    '--core=0',
    '--',
  ];
}
