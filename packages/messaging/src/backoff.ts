/** Exponential backoff: `baseDelayMs * factor^(attempt - 1)`, capped at `maxDelayMs`. `attempt` starts at 1. */
export function backoffDelay(
  attempt: number,
  options: { baseDelayMs: number; factor: number; maxDelayMs?: number },
): number {
  const delay = options.baseDelayMs * options.factor ** Math.max(0, attempt - 1);
  return Math.min(delay, options.maxDelayMs ?? Number.POSITIVE_INFINITY);
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects: callers check the signal themselves). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
