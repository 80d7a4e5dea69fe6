/**
 * Hard limits on what a log or a run-logs archive may cost to read. Every limit is checked while streaming, so a
 * hostile input is refused after at most the limit's worth of work, never after being read whole.
 */
export interface CiLogLimits {
  /** Bytes of one plain-text log (or of one archive entry once inflated); default 128 MiB. */
  maxLogBytes: number;
  /** Characters kept of one line; the rest of a longer line is skipped (not an error); default 16 KiB. */
  maxLineChars: number;
  /** Entries in a run-logs archive (files and folders); default 2,000. */
  maxArchiveEntries: number;
  /** Inflated bytes of all entries of an archive together; default 512 MiB. */
  maxArchiveBytes: number;
  /**
   * Inflated size / compressed size of one entry, checked on the entry's declared sizes before it is opened and
   * on the bytes actually inflated while it streams; default 200 (text logs compress about 10:1, bombs 1000:1).
   */
  maxCompressionRatio: number;
  /** Entries below this inflated size are never refused for their ratio (tiny files compress oddly); 1 MiB. */
  ratioExemptBytes: number;
  /** Distinct failures kept per job; more are counted in `droppedFailures`; default 200. */
  maxFailures: number;
  /** Lines of one failure's excerpt; default 40. */
  maxExcerptLines: number;
  /** Characters of one failure's excerpt; default 4,000. */
  maxExcerptChars: number;
  /** Characters of one failure's message; default 2,000. */
  maxMessageChars: number;
}

/** The defaults of {@link CiLogLimits}. */
export const DEFAULT_CI_LOG_LIMITS: Readonly<CiLogLimits> = Object.freeze({
  maxLogBytes: 128 * 1024 * 1024,
  maxLineChars: 16 * 1024,
  maxArchiveEntries: 2_000,
  maxArchiveBytes: 512 * 1024 * 1024,
  maxCompressionRatio: 200,
  ratioExemptBytes: 1024 * 1024,
  maxFailures: 200,
  maxExcerptLines: 40,
  maxExcerptChars: 4_000,
  maxMessageChars: 2_000,
});

/** The defaults overridden by `overrides`. */
export function resolveLimits(overrides: Partial<CiLogLimits> = {}): CiLogLimits {
  return { ...DEFAULT_CI_LOG_LIMITS, ...overrides };
}
