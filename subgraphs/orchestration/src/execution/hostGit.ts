import { execFile } from 'node:child_process';

/**
 * Configuration that would make git run a program, neutralised on the command line (which wins over every file).
 * Host-side git also reads no system or global configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL).
 */
export const SAFE_GIT_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.sshCommand=/bin/false',
  'core.pager=cat',
  'core.editor=/bin/false',
  'core.askPass=/bin/false',
  'credential.helper=',
  'diff.external=',
  'gpg.program=/bin/false',
  'gpg.ssh.program=/bin/false',
  'gpg.x509.program=/bin/false',
  'protocol.ext.allow=never',
  'core.attributesFile=/dev/null',
].flatMap((setting) => ['-c', setting]);

/** The environment of every git the worker runs: no system or global configuration, no prompts, no pager. */
export function gitEnv(path: string): Record<string, string> {
  return {
    PATH: path,
    HOME: '/nonexistent',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
  };
}

/**
 * Runs git on the host with {@link SAFE_GIT_CONFIG}: only on repositories nothing sandboxed ever wrote to (the
 * clone, the host-owned mirror of a GitHub repository) and in `none` mode. `env` adds to {@link gitEnv}, e.g.
 * `gitCredentialEnv` (credentials through the environment only, never in argv or a file).
 */
export function hostGit(
  args: string[],
  options: {
    path: string;
    cwd?: string;
    signal?: AbortSignal;
    timeoutMs?: number;
    env?: Record<string, string>;
  },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...SAFE_GIT_CONFIG, ...args],
      {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...gitEnv(options.path), ...options.env },
      },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}
