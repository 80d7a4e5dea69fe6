/** The tools whose output is parsed into structured failures (plus `annotation` and the `generic` fallback). */
export const TOOLS = [
  'tsc',
  'eslint',
  'vitest',
  'jest',
  'node-test',
  'pytest',
  'go',
  'cargo',
  'maven',
  'gradle',
  'annotation',
  'generic',
] as const;
export type Tool = (typeof TOOLS)[number];

/** One failure found in a log, before the scanner adds its excerpt, fingerprint and place. */
export interface RawFailure {
  tool: Tool;
  /** Repository-relative path (the runner's workspace prefix and `./` removed), when the tool names one. */
  file?: string;
  line?: number;
  column?: number;
  /** The failing test's name, with its suite path where the tool prints one (`suite > test`). */
  testName?: string;
  message: string;
  severity?: 'error' | 'warning';
  /** Log line numbers (1-based) of the failure's first and last line, for the excerpt. */
  startLine: number;
  endLine: number;
}

/** A structured failure: what a person would read in the log to know what broke. */
export interface CiFailure {
  tool: Tool;
  file?: string;
  line?: number;
  column?: number;
  testName?: string;
  message: string;
  severity: 'error' | 'warning';
  /** The relevant log lines (a few lines before, the failure's own block), capped (`maxExcerptLines`/`Chars`). */
  excerpt: string;
  /** Stable across runs and machines: tool + normalised message + file + test name (README "Fingerprints"). */
  fingerprint: string;
  /** How often a failure with this fingerprint appeared in the job. */
  occurrences: number;
  /** 1-based line of the log (of the archive entry for archives) where the failure starts. */
  logLine: number;
  /** The step the failure was printed in, when known (`##[group]Run …`, or the archive entry's name). */
  step?: string;
}

/** What one job's log parses into. */
export interface JobLogReport {
  /** The job's name (archives: the folder or file name), when known. */
  job?: string;
  failures: CiFailure[];
  /** Tools the detector recognised in the log or from a step name. */
  tools: Tool[];
  lines: number;
  bytes: number;
  /** Distinct failures past `maxFailures`, counted but not kept. */
  droppedFailures: number;
}

/** One line of a log after GitHub's framing is taken off (see `parseGithubLine`). */
export interface LogLine {
  /** 1-based line number in the log. */
  n: number;
  /** The text: timestamp, ANSI codes and workflow-command framing removed. */
  text: string;
}
