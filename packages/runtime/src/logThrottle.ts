/**
 * Rate limits repetitive log lines: while a dependency is down, every request that falls back would otherwise log
 * the same warning, drowning everything else. One line per key per interval passes, with the count of the lines
 * suppressed since the last one.
 *
 * @example
 * ```ts
 * const throttle = new LogThrottle(60_000);
 * const pass = throttle.take('presence');
 * if (pass) logger.warn({ err, suppressed: pass.suppressed }, 'presence unavailable; answering empty lists');
 * ```
 */
export class LogThrottle {
  readonly #intervalMs: number;
  readonly #keys = new Map<string, { lastAt: number; suppressed: number }>();

  /** @param intervalMs at most one line per key in this many ms. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /**
   * Whether a line for `key` may be logged now: `{ suppressed }` (lines skipped since the last one) when it may,
   * null when it is to be skipped (and counted).
   */
  take(key: string): { suppressed: number } | null {
    const now = Date.now();
    const entry = this.#keys.get(key);
    if (entry && now - entry.lastAt < this.#intervalMs) {
      entry.suppressed += 1;
      return null;
    }
    const suppressed = entry?.suppressed ?? 0;
    // Keys are a handful of fixed names (one per fallback), so this map stays small.
    this.#keys.set(key, { lastAt: now, suppressed: 0 });
    return { suppressed };
  }
}
