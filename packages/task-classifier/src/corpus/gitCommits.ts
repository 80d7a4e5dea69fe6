import { spawn } from 'node:child_process';
import { complexityOf, countsTowardsSize, pathKind, type ChangedPathKind } from '../labels.js';
import type { CorpusExample } from '../examples.js';
import { parseConventionalCommit } from './conventionalCommit.js';

/** Where to read one repository's history: a git directory (bare or `.git`) and its `owner/name`. */
export interface GitSource {
  repo: string;
  gitDir: string;
  /** Commit to read history from (the manifest's last SHA, so a retrain reproduces); default HEAD. */
  head?: string;
}

/** What was read from one repository, for the sources manifest. */
export interface GitSourceResult {
  repo: string;
  head: string;
  examples: CorpusExample[];
  /** Oldest and newest commit actually used. */
  firstSha: string | undefined;
  lastSha: string | undefined;
  scanned: number;
}

/** Caps on what is read from one repository. */
export interface ReadGitOptions {
  /** Most examples kept per repository (newest first). */
  maxExamples: number;
  /** Most commits scanned per repository. */
  maxCommits: number;
  /** Most bot-authored examples kept, as a share of `maxExamples`: bots would otherwise dominate. */
  maxBotShare: number;
}

const BOT_AUTHOR = /\[bot\]|renovate|dependabot|greenkeeper|github-actions/i;
const RECORD = '\x1e';
const FIELD = '\x1f';
const END_OF_HEADER = '\x1d';

function git(gitDir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [`--git-dir=${gitDir}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else
        reject(
          new Error(`git ${args[0]} failed in ${gitDir}: ${Buffer.concat(errors).toString('utf8').trim()}`),
        );
    });
  });
}

/**
 * Runs a git command and hands each `RECORD`-separated record to `consume` as it arrives; stops git as
 * soon as `consume` returns false, so reading the newest N examples does not diff the whole history.
 */
function streamRecords(gitDir: string, args: string[], consume: (record: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [`--git-dir=${gitDir}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const errors: Buffer[] = [];
    let buffer = '';
    let stopped = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stopped) return;
      buffer += chunk;
      const records = buffer.split(RECORD);
      buffer = records.pop() ?? '';
      for (const record of records) {
        if (!consume(record)) {
          stopped = true;
          child.kill();
          return;
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (stopped) return resolve();
      if (code !== 0)
        return reject(
          new Error(`git ${args[0]} failed in ${gitDir}: ${Buffer.concat(errors).toString('utf8').trim()}`),
        );
      if (buffer) consume(buffer);
      resolve();
    });
  });
}

/**
 * Snapshot mirrors may lack their largest blobs, and `--numstat` cannot count lines of a blob it cannot
 * read. Finds the changes that touch a missing blob (from `--raw`, which reads trees only): those commits
 * are skipped (their size is unknown) and those paths are left out of every other commit's count.
 */
async function unreadableChanges(
  gitDir: string,
  head: string,
  maxCommits: number,
): Promise<{ commits: Set<string>; paths: Set<string> }> {
  const commits = new Set<string>();
  const paths = new Set<string>();
  const objects = await git(gitDir, [
    'rev-list',
    '--objects',
    '--missing=print',
    `--max-count=${maxCommits}`,
    head,
  ]);
  const missing = new Set(
    objects
      .split('\n')
      .filter((line) => line.startsWith('?'))
      .map((line) => line.slice(1).trim()),
  );
  if (missing.size === 0) return { commits, paths };
  const raw = await git(gitDir, [
    'log',
    '--no-merges',
    '--no-renames',
    '--raw',
    '--no-abbrev',
    `--max-count=${maxCommits}`,
    `--format=${RECORD}%H`,
    head,
  ]);
  for (const record of raw.split(RECORD)) {
    const [sha = '', ...lines] = record.split('\n');
    for (const line of lines) {
      const match = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) \w+\t(.+)$/.exec(line);
      if (match && (missing.has(match[1] ?? '') || missing.has(match[2] ?? ''))) {
        commits.add(sha.trim());
        paths.add(match[3] ?? '');
      }
    }
  }
  return { commits, paths };
}

/**
 * Reads labelled examples from a repository's conventional-commit history: type from the prefix, text
 * from the subject and body (see `parseConventionalCommit`), complexity from the commit's own `--numstat`
 * (binary files and {@link countsTowardsSize excluded paths} do not count; commits left with no counted file
 * are skipped). Merge commits are skipped. Near-duplicate texts (same words once digits are ignored, e.g.
 * dependency bumps) are kept once.
 */
export async function readGitCommits(source: GitSource, options: ReadGitOptions): Promise<GitSourceResult> {
  const head = (await git(source.gitDir, ['rev-parse', source.head ?? 'HEAD'])).trim();
  const unreadable = await unreadableChanges(source.gitDir, head, options.maxCommits);
  const examples: CorpusExample[] = [];
  const seen = new Set<string>();
  const maxBots = Math.floor(options.maxExamples * options.maxBotShare);
  let bots = 0;
  let scanned = 0;
  const consume = (record: string): boolean => {
    const end = record.indexOf(END_OF_HEADER);
    if (end === -1) return true;
    scanned += 1;
    const [sha = '', author = '', message = ''] = record.slice(0, end).split(FIELD);
    if (unreadable.commits.has(sha)) return true;
    const parsed = parseConventionalCommit(message);
    if (!parsed?.type) return true;
    const bot = BOT_AUTHOR.test(author);
    if (bot && bots >= maxBots) return true;
    let files = 0;
    let lines = 0;
    const kinds = new Set<ChangedPathKind>();
    for (const line of record.slice(end + 1).split('\n')) {
      const [added, deleted, path] = line.split('\t');
      if (path === undefined || added === '-' || deleted === '-') continue;
      if (!countsTowardsSize(path)) continue;
      files += 1;
      lines += Number(added) + Number(deleted);
      kinds.add(pathKind(path));
    }
    if (files === 0) return true;
    const key = `${parsed.title}\n${parsed.description}`.toLowerCase().replace(/[\d.]+/g, '0');
    if (seen.has(key)) return true;
    seen.add(key);
    if (bot) bots += 1;
    examples.push({
      title: parsed.title,
      description: parsed.description,
      type: parsed.type,
      complexity: complexityOf({ files, lines }),
      group: source.repo,
      ref: sha,
      bot,
      conventionalType: parsed.conventionalType,
      changed: kinds.size === 1 ? [...kinds][0] : 'mixed',
      ...(parsed.scope ? { scope: parsed.scope } : {}),
    });
    return examples.length < options.maxExamples;
  };
  await streamRecords(
    source.gitDir,
    [
      'log',
      '--no-merges',
      '--no-renames',
      '--full-history',
      `--max-count=${options.maxCommits}`,
      `--format=${RECORD}%H${FIELD}%an${FIELD}%B${END_OF_HEADER}`,
      '--numstat',
      head,
      '--',
      '.',
      ...[...unreadable.paths].sort().map((path) => `:(top,exclude,literal)${path}`),
    ],
    consume,
  );
  return {
    repo: source.repo,
    head,
    examples,
    lastSha: examples[0]?.ref,
    firstSha: examples[examples.length - 1]?.ref,
    scanned,
  };
}
