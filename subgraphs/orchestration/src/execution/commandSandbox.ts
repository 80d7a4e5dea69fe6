import type { Logger } from '@cap/runtime';
import { detectSandbox, type Sandbox, type SandboxLimits, type SandboxMode } from '@cap/sandbox';

/**
 * Where task commands run, decided once at start: a working sandbox, or the reason there is none (then every
 * command is refused with SANDBOX_UNAVAILABLE, never run unsandboxed behind the operator's back).
 */
export type CommandSandbox =
  | {
      available: true;
      sandbox: Sandbox;
      description: string;
      network: boolean;
      limits: SandboxLimits;
      killGraceMs: number;
    }
  | { available: false; reason: string; fix: string };

/** Detects the sandbox for COMMAND_SANDBOX and logs what commands will run in (loudly for `none`). */
export async function startCommandSandbox(options: {
  mode: SandboxMode;
  workspaceRoot: string;
  path: string;
  rootHostUser: { uid: number; gid: number };
  readOnlyPaths: readonly string[];
  network: boolean;
  limits: SandboxLimits;
  killGraceMs: number;
  logger: Logger;
}): Promise<CommandSandbox> {
  const { logger } = options;
  const detection = await detectSandbox({
    mode: options.mode,
    workspaceRoot: options.workspaceRoot,
    path: options.path,
    rootHostUser: options.rootHostUser,
    readOnlyPaths: options.readOnlyPaths,
  });
  if (!detection.available) {
    const fix = `${detection.fix}; or set COMMAND_SANDBOX=none to run commands unsandboxed (unsafe)`;
    logger.error(
      { code: detection.code, reason: detection.reason, fix },
      `command sandbox unavailable: task commands will FAIL with SANDBOX_UNAVAILABLE. ${detection.reason}. Fix: ${fix}`,
    );
    return { available: false, reason: detection.reason, fix };
  }
  if (detection.sandbox.mode === 'none') {
    logger.warn(
      'COMMAND_SANDBOX=none: task commands run UNSANDBOXED as this process’s user, with its files (DATA_DIR secrets), environment and network. Use only on a development machine.',
    );
  } else {
    logger.info(
      { sandbox: detection.description, network: options.network, limits: options.limits },
      'task commands run in the command sandbox',
    );
  }
  return {
    available: true,
    sandbox: detection.sandbox,
    description: detection.description,
    network: options.network,
    limits: options.limits,
    killGraceMs: options.killGraceMs,
  };
}
