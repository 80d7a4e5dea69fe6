import { ErrorCode } from '@cap/runtime';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { CiLogError, isCiLogError } from './errors.js';
import { resolveLimits, type CiLogLimits } from './limits.js';
import { readLines } from './readLines.js';
import { JobLogScanner } from './scanner.js';
import type { JobLogReport } from './types.js';

/** What a run-logs archive parses into: one report per job. */
export interface RunLogReport {
  jobs: JobLogReport[];
  /** Entries in the archive (files and folders). */
  entries: number;
  /** Inflated bytes read. */
  bytes: number;
}

/** Options of {@link parseRunLogArchive}. */
export interface ParseRunLogArchiveOptions {
  limits?: Partial<CiLogLimits>;
}

interface Step {
  entry: yauzl.Entry;
  order: number;
  name: string;
}

/** `3_Run npm test.txt` → order 3, name `Run npm test`. */
function stepOf(fileName: string): { order: number; name: string } {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1).replace(/\.txt$/i, '');
  const underscore = base.indexOf('_');
  const order = underscore > 0 ? Number(base.slice(0, underscore)) : Number.NaN;
  return Number.isSafeInteger(order)
    ? { order, name: base.slice(underscore + 1) }
    : { order: Number.MAX_SAFE_INTEGER, name: base };
}

function invalid(message: string, cause?: unknown): CiLogError {
  return new CiLogError(
    ErrorCode.CI_LOG_ARCHIVE_INVALID,
    `The run-logs archive is not a readable ZIP: ${message}`,
    {},
    { cause },
  );
}

function limitExceeded(limit: keyof CiLogLimits, max: number, actual: number, entry?: string): CiLogError {
  const where = entry ? ` (entry ${JSON.stringify(entry)})` : '';
  return new CiLogError(
    ErrorCode.CI_LOG_ARCHIVE_LIMIT_EXCEEDED,
    `The run-logs archive breaks the ${limit} limit${where}: ${actual} > ${max}`,
    entry ? { limit, max, actual, entry } : { limit, max, actual },
  );
}

/** Opens the archive from a path or a buffer; yauzl reads the central directory, never the whole file. */
function open(input: string | Buffer): Promise<yauzl.ZipFile> {
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: false,
  };
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, zipfile: yauzl.ZipFile) =>
      error ? reject(invalid(error.message, error)) : resolve(zipfile);
    if (typeof input === 'string') yauzl.open(input, options, done);
    else yauzl.fromBuffer(input, options, done);
  });
}

/** Reads the central directory: every entry's metadata, checked against the limits before anything inflates. */
function listEntries(zipfile: yauzl.ZipFile, limits: CiLogLimits): Promise<yauzl.Entry[]> {
  if (zipfile.entryCount > limits.maxArchiveEntries) {
    return Promise.reject(limitExceeded('maxArchiveEntries', limits.maxArchiveEntries, zipfile.entryCount));
  }
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    let declared = 0;
    zipfile.on('error', (error: Error) => reject(invalid(error.message, error)));
    zipfile.on('end', () => resolve(entries));
    zipfile.on('entry', (entry: yauzl.Entry) => {
      try {
        if (!entry.fileName.endsWith('/')) {
          if (entry.isEncrypted()) throw invalid(`entry ${JSON.stringify(entry.fileName)} is encrypted`);
          if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
            throw invalid(
              `entry ${JSON.stringify(entry.fileName)} uses compression method ${entry.compressionMethod}`,
            );
          }
          declared += entry.uncompressedSize;
          if (declared > limits.maxArchiveBytes)
            throw limitExceeded('maxArchiveBytes', limits.maxArchiveBytes, declared);
          if (entry.uncompressedSize > limits.maxLogBytes) {
            throw limitExceeded('maxLogBytes', limits.maxLogBytes, entry.uncompressedSize, entry.fileName);
          }
          const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
          if (entry.uncompressedSize > limits.ratioExemptBytes && ratio > limits.maxCompressionRatio) {
            throw limitExceeded(
              'maxCompressionRatio',
              limits.maxCompressionRatio,
              Math.round(ratio),
              entry.fileName,
            );
          }
          entries.push(entry);
        }
        zipfile.readEntry();
      } catch (error) {
        reject(error);
      }
    });
    zipfile.readEntry();
  });
}

function openStream(zipfile: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry, (error, stream) =>
      error ? reject(invalid(error.message, error)) : resolve(stream),
    );
  });
}

/** Groups entries into jobs: `job/N_step.txt` per step; a top-level `N_job.txt` only for a job without a folder. */
function jobsOf(entries: yauzl.Entry[]): { job: string; steps: Step[] }[] {
  const folders = new Map<string, Step[]>();
  const wholeJobs: Step[] = [];
  for (const entry of entries) {
    const slash = entry.fileName.indexOf('/');
    const step = { entry, ...stepOf(entry.fileName) };
    if (slash === -1) wholeJobs.push(step);
    else {
      const job = entry.fileName.slice(0, slash);
      const steps = folders.get(job);
      if (steps) steps.push(step);
      else folders.set(job, [step]);
    }
  }
  const jobs = [...folders].map(([job, steps]) => ({ job, steps: steps.sort((a, b) => a.order - b.order) }));
  for (const whole of wholeJobs.sort((a, b) => a.order - b.order)) {
    if (!folders.has(whole.name)) jobs.push({ job: whole.name, steps: [{ ...whole, name: '' }] });
  }
  return jobs;
}

/**
 * Parses a GitHub Actions run-logs archive (`GET /repos/{owner}/{repo}/actions/runs/{id}/logs`, a ZIP with a folder
 * per job and a file per step) into one report per job. Pass a file path to keep memory bounded: entries are
 * inflated as streams, line by line. Zip-bomb limits (entry count, total bytes, compression ratio, declared and
 * actual) are enforced before and while inflating. Throws `CiLogError` with `CI_LOG_ARCHIVE_INVALID`,
 * `CI_LOG_ARCHIVE_LIMIT_EXCEEDED`, `CI_LOG_TOO_LARGE` or `CI_LOG_NOT_TEXT`.
 */
export async function parseRunLogArchive(
  input: string | Buffer,
  options: ParseRunLogArchiveOptions = {},
): Promise<RunLogReport> {
  const limits = resolveLimits(options.limits);
  const zipfile = await open(input);
  try {
    const entries = await listEntries(zipfile, limits);
    let total = 0;
    const jobs: JobLogReport[] = [];
    for (const { job, steps } of jobsOf(entries)) {
      const scanner = new JobLogScanner(limits, job);
      let jobBytes = 0;
      for (const step of steps) {
        scanner.startStep(step.name || undefined);
        const stream = await openStream(zipfile, step.entry);
        const before = total;
        const count = (read: number) => {
          total = before + read;
          if (total > limits.maxArchiveBytes)
            throw limitExceeded('maxArchiveBytes', limits.maxArchiveBytes, total);
          const ratio = read / Math.max(1, step.entry.compressedSize);
          if (read > limits.ratioExemptBytes && ratio > limits.maxCompressionRatio) {
            throw limitExceeded(
              'maxCompressionRatio',
              limits.maxCompressionRatio,
              Math.round(ratio),
              step.entry.fileName,
            );
          }
        };
        try {
          for await (const lines of readLines(stream, limits, count))
            for (const line of lines) scanner.push(line);
        } catch (error) {
          throw isCiLogError(error)
            ? error
            : invalid(`entry ${JSON.stringify(step.entry.fileName)}: ${(error as Error).message}`, error);
        } finally {
          stream.destroy();
        }
        jobBytes += total - before;
      }
      jobs.push(scanner.finish(jobBytes));
    }
    return { jobs, entries: zipfile.entryCount, bytes: total };
  } finally {
    zipfile.close();
  }
}
