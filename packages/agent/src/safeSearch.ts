import { readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createContext, Script, type Context } from 'node:vm';

/** Limits of one search. */
export interface SearchLimits {
  /** Matches returned. */
  maxResults: number;
  /** CPU time of all matching, ms: a catastrophically backtracking pattern is interrupted here. */
  timeMs: number;
  /** Files larger than this are skipped, bytes. */
  maxFileBytes: number;
  /** Files looked at. */
  maxFiles: number;
  /** Longest pattern, characters. */
  maxPatternLength: number;
}

/** Limits of the `search` tool. */
export const DEFAULT_SEARCH_LIMITS: SearchLimits = {
  maxResults: 100,
  timeMs: 2_000,
  maxFileBytes: 1024 * 1024,
  maxFiles: 5_000,
  maxPatternLength: 500,
};

/** Why a search could not run; the model sees the message. */
export class SearchError extends Error {
  override readonly name = 'SearchError';
}

/** Directories never worth searching (and expensive to walk). */
const SKIPPED = new Set([
  '.git',
  'node_modules',
  '.venv',
  'venv',
  '__pycache__',
  'target',
  'dist',
  'build',
  '.next',
]);

/** Lists files under `dir` (relative paths, sorted), skipping vendored and generated trees; symlinks are not followed. */
export async function walkFiles(root: string, dir: string, maxFiles: number): Promise<string[]> {
  const files: string[] = [];
  const queue = [dir];
  while (queue.length > 0 && files.length < maxFiles) {
    const current = queue.shift()!;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (!SKIPPED.has(entry.name)) queue.push(join(current, entry.name));
      } else if (entry.isFile()) {
        files.push(relative(root, join(current, entry.name)));
        if (files.length >= maxFiles) break;
      }
    }
  }
  return files;
}

/**
 * The matching itself runs in a vm context with a timeout: V8 interrupts a regular expression stuck in
 * catastrophic backtracking there, which nothing in the main context can do. The inputs are copied into locals
 * first: every global lookup in a vm context goes through an interceptor, far too slow for a hot loop.
 */
const MATCHER = new Script(`
  (() => {
    const input = job;
    const regex = new RegExp(input.pattern, input.flags);
    const files = input.files;
    const maxResults = input.maxResults;
    const out = [];
    for (let f = 0; f < files.length && out.length < maxResults; f++) {
      const lines = files[f].text.split('\\n');
      for (let i = 0; i < lines.length && out.length < maxResults; i++) {
        regex.lastIndex = 0;
        if (regex.test(lines[i])) out.push([files[f].path, i + 1, lines[i].slice(0, 300)]);
      }
    }
    return JSON.stringify(out);
  })()
`);
/** One context for every search (creating one costs milliseconds); only our script ever runs in it. */
let matcherContext: Context | null = null;

/** Files read between two yields to the event loop. */
const READ_BATCH = 64;

/** Decoded texts kept between searches (an agent searches the same files again and again), characters. */
const CACHE_MAX_CHARS = 32 * 1024 * 1024;
/** Path → text, valid while the file's inode, size and ctime (nanoseconds) are unchanged; oldest first. */
const cache = new Map<string, { key: string; text: string | null }>();
let cachedChars = 0;

/** A file's text, or null when it is too large, binary or unreadable. */
function readSearchable(
  root: string,
  path: string,
  limits: SearchLimits,
): { path: string; text: string } | null {
  const full = join(root, path);
  try {
    const info = statSync(full, { bigint: true });
    if (info.size > BigInt(limits.maxFileBytes)) return null;
    const key = `${info.ino}:${info.size}:${info.ctimeNs}:${info.mtimeNs}`;
    const hit = cache.get(full);
    if (hit?.key === key) return hit.text === null ? null : { path, text: hit.text };
    const buffer = readFileSync(full);
    // Binary files (a NUL in the first 8 KiB) are skipped.
    const text = buffer.subarray(0, 8192).includes(0) ? null : buffer.toString('utf8');
    remember(full, key, text);
    return text === null ? null : { path, text };
  } catch {
    return null;
  }
}

function remember(full: string, key: string, text: string | null): void {
  const previous = cache.get(full);
  if (previous) {
    cachedChars -= previous.text?.length ?? 0;
    cache.delete(full);
  }
  cache.set(full, { key, text });
  cachedChars += text?.length ?? 0;
  for (const [oldest, entry] of cache) {
    if (cachedChars <= CACHE_MAX_CHARS) break;
    cache.delete(oldest);
    cachedChars -= entry.text?.length ?? 0;
  }
}

/** One match: file, 1-based line, the line (cut at 300 characters). */
export interface SearchMatch {
  path: string;
  line: number;
  text: string;
}

/**
 * Searches files under `dir` for lines matching `pattern` (a JavaScript regular expression).
 * @throws {SearchError} for an invalid or over-long pattern, or one that runs past the time cap
 */
export async function searchFiles(
  root: string,
  dir: string,
  pattern: string,
  options: { caseInsensitive?: boolean; limits?: SearchLimits } = {},
): Promise<{ matches: SearchMatch[]; filesSearched: number; capped: boolean }> {
  const limits = options.limits ?? DEFAULT_SEARCH_LIMITS;
  if (pattern.length > limits.maxPatternLength)
    throw new SearchError(`The pattern is longer than ${limits.maxPatternLength} characters.`);
  const flags = options.caseInsensitive ? 'i' : '';
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    throw new SearchError(`Invalid regular expression: ${(error as Error).message}`);
  }
  const paths = await walkFiles(root, dir, limits.maxFiles);
  // Synchronous reads cost a fraction of the CPU of promise-based ones (no thread-pool round trip per file);
  // yielding between batches keeps the event loop (log flushes, lease renewals) responsive.
  const files: Array<{ path: string; text: string }> = [];
  for (let start = 0; start < paths.length; start += READ_BATCH) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const path of paths.slice(start, start + READ_BATCH)) {
      const file = readSearchable(root, path, limits);
      if (file) files.push(file);
    }
  }
  matcherContext ??= createContext({ job: null });
  matcherContext['job'] = { pattern, flags, files, maxResults: limits.maxResults + 1 };
  let raw: string;
  try {
    raw = MATCHER.runInContext(matcherContext, { timeout: limits.timeMs }) as string;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new SearchError(
        `The search took longer than ${limits.timeMs} ms and was stopped; the pattern probably backtracks catastrophically (nested quantifiers such as (a+)+). Simplify it.`,
      );
    }
    throw new SearchError(`The search failed: ${(error as Error).message}`);
  } finally {
    matcherContext['job'] = null;
  }
  const rows = JSON.parse(raw) as Array<[string, number, string]>;
  const capped = rows.length > limits.maxResults;
  return {
    matches: rows.slice(0, limits.maxResults).map(([path, line, text]) => ({ path, line, text })),
    filesSearched: files.length,
    capped,
  };
}
