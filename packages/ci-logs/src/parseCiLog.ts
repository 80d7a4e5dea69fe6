import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parseJobLog, type ParseJobLogOptions } from './parseJobLog.js';
import { parseRunLogArchive, type RunLogReport } from './parseRunLogArchive.js';

/** ZIP local-file and empty-archive signatures (`PK\x03\x04`, `PK\x05\x06`). */
function isZip(head: Uint8Array): boolean {
  return (
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))
  );
}

/**
 * Parses a downloaded log file, whichever GitHub endpoint it came from: a run-logs ZIP (detected by its signature)
 * or a plain-text job log, streamed from disk. A plain log comes back as a run of one job.
 */
export async function parseCiLogFile(path: string, options: ParseJobLogOptions = {}): Promise<RunLogReport> {
  const handle = await open(path, 'r');
  const head = new Uint8Array(4);
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (isZip(head)) return parseRunLogArchive(path, options.limits ? { limits: options.limits } : {});
  const report = await parseJobLog(createReadStream(path, { highWaterMark: 256 * 1024 }), options);
  return { jobs: [report], entries: 1, bytes: report.bytes };
}
