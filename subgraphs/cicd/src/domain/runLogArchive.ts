import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CiLogError, parseRunLogArchive, type RunLogReport } from '@cap/ci-logs';
import { ErrorCode } from '@cap/runtime';
import type { CicdDeps } from './deps.js';

/**
 * Downloads a run attempt's log archive (GitHub's ZIP, a folder per job, a file per step) and parses it with
 * @cap/ci-logs. A ZIP is read from its central directory at the end, so it is streamed to a temporary file, never
 * held in memory, and refused (`CI_LOG_TOO_LARGE`) as soon as it passes `logMaxBytes`; the reader's zip-bomb limits
 * apply while inflating (`CI_LOG_ARCHIVE_INVALID`, `CI_LOG_ARCHIVE_LIMIT_EXCEEDED`). The file is removed after.
 */
export async function readRunLogArchive(
  deps: Pick<CicdDeps, 'github' | 'settings'>,
  build: { repository: string; runId: bigint; runAttempt: number },
): Promise<RunLogReport> {
  const body = await deps.github.runLogArchive(build.repository, Number(build.runId), build.runAttempt);
  const limit = deps.settings.logMaxBytes;
  const dir = await mkdtemp(join(tmpdir(), 'cap-cicd-logs-'));
  try {
    const file = join(dir, 'logs.zip');
    let bytes = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > limit)
          return done(
            new CiLogError(
              ErrorCode.CI_LOG_TOO_LARGE,
              `The run's log archive is larger than ${limit} bytes (CI_LOG_MAX_BYTES).`,
              { limit: 'CI_LOG_MAX_BYTES', max: limit },
            ),
          );
        done(null, chunk);
      },
    });
    const source = Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>);
    await pipeline(source, bounded, createWriteStream(file, { mode: 0o600 }));
    return await parseRunLogArchive(file, { limits: { maxLogBytes: limit } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
