import { resolveLimits, type CiLogLimits } from './limits.js';
import { readLines, type LogSource } from './readLines.js';
import { JobLogScanner } from './scanner.js';
import type { JobLogReport } from './types.js';

/** Options of {@link parseJobLog}. */
export interface ParseJobLogOptions {
  /** Overrides of the defaults in `DEFAULT_CI_LOG_LIMITS`. */
  limits?: Partial<CiLogLimits>;
  /** The job's name, copied to the report. */
  job?: string;
  /** The step's name when the log is one step's (its tool hints help the detector, e.g. `Run npm test`). */
  step?: string;
}

/**
 * Parses one GitHub Actions job log (plain text, as `GET /repos/{owner}/{repo}/actions/jobs/{id}/logs` returns it)
 * into structured failures, streaming: pass a file or HTTP body stream and the log never sits in memory whole.
 * Throws `CiLogError` (`CI_LOG_NOT_TEXT`, `CI_LOG_TOO_LARGE`) for input it refuses.
 */
export async function parseJobLog(
  source: LogSource,
  options: ParseJobLogOptions = {},
): Promise<JobLogReport> {
  const limits = resolveLimits(options.limits);
  const scanner = new JobLogScanner(limits, options.job);
  if (options.step) scanner.startStep(options.step);
  let bytes = 0;
  for await (const lines of readLines(source, limits, (total) => (bytes = total))) {
    for (const line of lines) scanner.push(line);
  }
  return scanner.finish(bytes);
}
