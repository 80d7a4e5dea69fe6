export { CiLogError, isCiLogError, type CiLogErrorCode } from './errors.js';
export { fingerprintOf, normaliseMessage, normaliseTestName, relativeFile } from './fingerprint.js';
export { parseGithubLine, stripAnsi, type Annotation, type GithubLine, type LineKind } from './githubLine.js';
export { DEFAULT_CI_LOG_LIMITS, resolveLimits, type CiLogLimits } from './limits.js';
export { parseCiLogFile } from './parseCiLog.js';
export { parseJobLog, type ParseJobLogOptions } from './parseJobLog.js';
export {
  parseRunLogArchive,
  type ParseRunLogArchiveOptions,
  type RunLogReport,
} from './parseRunLogArchive.js';
export { readLines, type LogSource } from './readLines.js';
export { JobLogScanner } from './scanner.js';
export { TOOLS, type CiFailure, type JobLogReport, type Tool } from './types.js';
export { generateJobLog } from './generateLog.js';
