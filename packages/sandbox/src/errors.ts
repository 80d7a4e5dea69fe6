/** Stable codes of the sandbox's failures. */
export const SandboxErrorCode = {
  /** bubblewrap is missing or cannot create its namespaces here (see `detectSandbox`). */
  UNAVAILABLE: 'SANDBOX_UNAVAILABLE',
  /** The sandbox process could not be started at all (e.g. the binary vanished since detection). */
  SPAWN_FAILED: 'SANDBOX_SPAWN_FAILED',
  /** The caller's options are invalid (no command, a relative workspace path, a bad limit). */
  INVALID_OPTIONS: 'SANDBOX_INVALID_OPTIONS',
} as const;
export type SandboxErrorCode = (typeof SandboxErrorCode)[keyof typeof SandboxErrorCode];

/** A coded failure of the sandbox; `cause` keeps the underlying error for logs. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code: SandboxErrorCode;

  constructor(code: SandboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Narrows an unknown thrown value to a {@link SandboxError}, optionally of one code. */
export function isSandboxError(error: unknown, code?: SandboxErrorCode): error is SandboxError {
  return error instanceof SandboxError && (code === undefined || error.code === code);
}
