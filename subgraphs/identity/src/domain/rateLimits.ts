import { codedError, ErrorCode } from '@cap/runtime';
import type { IdentityDeps } from './deps.js';

/** A fixed-window limit on one operation per client address. */
export interface RateLimit {
  /** The operation, in the counter's key and in logs (e.g. `login`, `refreshSession`). */
  operation: string;
  /** Attempts allowed per window. */
  limit: number;
  /** Window length, seconds; the window starts with its first attempt. */
  windowSeconds: number;
  /** What the caller is told, e.g. 'Too many login attempts from this address.' */
  message: string;
}

/**
 * Counts one attempt at `rule.operation` from `clientIp` (the address the router saw) in the shared key-value
 * store, atomically across instances, and throws RATE_LIMITED with `extensions.retryAfterSeconds` once the
 * window holds more than `rule.limit` attempts. Refused attempts count too: hammering does not shorten the wait.
 */
export async function enforceRateLimit(
  deps: Pick<IdentityDeps, 'kv' | 'logger'>,
  rule: RateLimit,
  clientIp: string,
): Promise<void> {
  const { count, resetMs } = await deps.kv.hit(
    `identity:${rule.operation}:ip:${clientIp}`,
    rule.windowSeconds * 1000,
  );
  if (count <= rule.limit) return;
  if (count === rule.limit + 1)
    deps.logger.warn({ operation: rule.operation, clientIp, limit: rule.limit }, 'rate limit reached');
  throw codedError(ErrorCode.RATE_LIMITED, rule.message, {
    retryAfterSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
    limit: rule.limit,
    windowSeconds: rule.windowSeconds,
  });
}
