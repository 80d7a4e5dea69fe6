import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGitCommits, type GitSource, type GitSourceResult, type ReadGitOptions } from './gitCommits.js';

/**
 * The code that turns a commit into an example: a cached read is only reused while these files are
 * byte-for-byte the same, so a change to parsing or labelling never trains on stale examples.
 */
const READER_FILES = ['gitCommits', 'conventionalCommit', '../labels'];

let readerHash: Promise<string> | undefined;
function readerVersion(): Promise<string> {
  readerHash ??= (async () => {
    const hash = createHash('sha256');
    const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    for (const file of READER_FILES)
      hash.update(await readFile(new URL(`${file}${extension}`, import.meta.url)));
    return hash.digest('hex').slice(0, 16);
  })();
  return readerHash;
}

/** The cache file of one read: repository, resolved head, read options and the reader's code. */
async function cachePath(dir: string, repo: string, head: string, options: ReadGitOptions): Promise<string> {
  const key = `${options.maxExamples}-${options.maxCommits}-${options.maxBotShare}-${await readerVersion()}`;
  return join(dir, `${repo.replace('/', '+')}@${head}-${key}.json`);
}

/**
 * {@link readGitCommits} with a file cache outside the repository (third-party text is never committed):
 * reading a large history with `--numstat` takes minutes, and a retrain or an experiment reads the same
 * commits again. The head must be a full SHA (the manifest's) for the cache to be used; otherwise the
 * repository is read as usual and the result stored under the head it resolved to.
 */
export async function readGitCommitsCached(
  source: GitSource,
  options: ReadGitOptions,
  cacheDir: string | undefined,
): Promise<GitSourceResult & { cached: boolean }> {
  if (cacheDir && source.head && /^[0-9a-f]{40}$/.test(source.head)) {
    try {
      const cached = JSON.parse(
        await readFile(await cachePath(cacheDir, source.repo, source.head, options), 'utf8'),
      ) as GitSourceResult;
      if (cached.repo === source.repo && cached.head === source.head) return { ...cached, cached: true };
    } catch {
      // Not cached (or unreadable): read from git below.
    }
  }
  const result = await readGitCommits(source, options);
  if (cacheDir) await writeCachedRead(cacheDir, result, options);
  return { ...result, cached: false };
}

/** Stores one read in the cache (written to a temporary name first, so a reader never sees half a file). */
export async function writeCachedRead(
  cacheDir: string,
  result: GitSourceResult,
  options: ReadGitOptions,
): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const path = await cachePath(cacheDir, result.repo, result.head, options);
  await writeFile(`${path}.tmp`, JSON.stringify(result));
  await rename(`${path}.tmp`, path);
}
