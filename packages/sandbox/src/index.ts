export { SandboxError, SandboxErrorCode, isSandboxError } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type SandboxLimits } from './limits.js';
export {
  DEFAULT_SANDBOX_PATH,
  SANDBOX_UID,
  SANDBOX_WORKSPACE,
  unsandboxed,
  type HostUser,
  type Sandbox,
  type SandboxMode,
} from './Sandbox.js';
export type { SandboxBind } from './bwrapArgs.js';
export {
  runInSandbox,
  type OutputStream,
  type RunInSandboxOptions,
  type SandboxExitReason,
  type SandboxResult,
} from './runInSandbox.js';
export { detectSandbox, type DetectSandboxOptions, type SandboxDetection } from './detectSandbox.js';
export { grantWorkspace } from './workspaceOwner.js';
export { removeWorkspaceTree } from './removeWorkspaceTree.js';
