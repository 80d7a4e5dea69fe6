/**
 * CI log parsing throughput: a generated GitHub Actions job log (BENCH_LOG_MB, default 64 MB; timestamped lines,
 * step groups, noise, and a tool failure about every 200 lines) parsed by `parseJobLog`, beside the baseline of
 * plain line splitting (`readLines`: UTF-8 decoding and splitting only) and of a bare `split('\n')` on each chunk.
 * Prints MB/s per path and the ratios to the baselines. Each path gets the same chunks, generated once.
 *
 *   npm run bench -- ci-logs
 *   BENCH_LOG_MB=200 npm run bench -- ci-logs
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_CI_LOG_LIMITS, generateJobLog, parseJobLog, readLines } from '@cap/ci-logs';

const MB = Number(process.env['BENCH_LOG_MB'] ?? 64);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

const chunks: Buffer[] = [];
for await (const chunk of generateJobLog({ bytes: MB * 1024 * 1024 })) chunks.push(chunk);
const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
const limits = { ...DEFAULT_CI_LOG_LIMITS, maxLogBytes: bytes + 1 };

async function measure(name: string, run: () => Promise<unknown>): Promise<{ name: string; mbps: number }> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    await run();
    best = Math.min(best, performance.now() - started);
  }
  return { name, mbps: bytes / 1024 / 1024 / (best / 1000) };
}

let failures = 0;
const rows = [
  await measure('split("\\n") per chunk (baseline)', async () => {
    let lines = 0;
    for (const chunk of chunks) lines += chunk.toString('utf8').split('\n').length;
    return lines;
  }),
  await measure('readLines (decode + split, limits)', async () => {
    let lines = 0;
    for await (const batch of readLines(chunks, limits)) lines += batch.length;
    return lines;
  }),
  await measure('parseJobLog (framing, detector, parsers)', async () => {
    failures = (await parseJobLog(chunks, { limits })).failures.length;
  }),
];

const [split, lines] = rows;
process.stdout.write(
  `log: ${(bytes / 1024 / 1024).toFixed(1)} MB, ${failures} distinct failures, best of ${ROUNDS}\n`,
);
process.stdout.write(
  `${'path'.padEnd(44)}${'MB/s'.padStart(10)}${'vs split'.padStart(10)}${'vs readLines'.padStart(14)}\n`,
);
for (const row of rows) {
  process.stdout.write(
    `${row.name.padEnd(44)}${row.mbps.toFixed(1).padStart(10)}${(row.mbps / split!.mbps).toFixed(2).padStart(10)}${(row.mbps / lines!.mbps).toFixed(2).padStart(14)}\n`,
  );
}
