import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANGELOG_SECTION_MAP } from '../labels.js';
import type { CorpusExample } from '../examples.js';
import { stripPrNumbers } from './conventionalCommit.js';

/** What was read from one package's CHANGELOG.md, for the sources manifest. */
export interface ChangelogResult {
  /** Package name (`yargs`, `@babel/parser`). */
  pkg: string;
  /** The package's repository as its package.json names it, when it does. */
  repository: string | undefined;
  version: string | undefined;
  examples: CorpusExample[];
}

/** `* **scope:** text ([abc1234](link))` → `text`; the scope goes for the same reason as in commits. */
const ENTRY = /^\s*[*-]\s+(?:\*\*[^*]+:\*\*\s*)?(.+)$/;
const SECTION = /^#{2,4}\s+(.+?)\s*$/;
/** Commit and issue links that conventional-changelog appends to every entry. */
const LINKS =
  /\s*\(\[[^\]]*\]\([^)]*\)\)|\s*\[[0-9a-f]{7,40}\]\([^)]*\)|,?\s*closes\s+\[#\d+\]\([^)]*\)|\s*\(#\d+\)/gi;

/** Parses a conventional-changelog CHANGELOG.md: each bullet under a known section is one example. */
export function parseChangelog(text: string, group: string): CorpusExample[] {
  const examples: CorpusExample[] = [];
  let type: CorpusExample['type'];
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const section = SECTION.exec(line);
    if (section) {
      type =
        CHANGELOG_SECTION_MAP[
          (section[1] ?? '')
            .replace(/[^\w\s]/g, '')
            .trim()
            .toLowerCase()
        ];
      continue;
    }
    if (!type) continue;
    const entry = ENTRY.exec(line);
    if (!entry) continue;
    const title = stripPrNumbers((entry[1] ?? '').replace(LINKS, '').replace(/\s+/g, ' ').trim());
    if (title.length < 3) continue;
    examples.push({ title, description: '', type, group, ref: `CHANGELOG.md:${index + 1}`, bot: false });
  }
  return examples;
}

function repositoryName(repository: unknown): string | undefined {
  const url =
    typeof repository === 'string' ? repository : (repository as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') return undefined;
  const match =
    /github(?:\.com)?[:/]([\w.-]+\/[\w.-]+?)(?:\.git)?$/.exec(url) ?? /^([\w.-]+\/[\w.-]+)$/.exec(url);
  return match?.[1]?.toLowerCase();
}

/**
 * Reads the CHANGELOG.md of every package directly under `nodeModules` (and scoped packages). Packages whose
 * repository is in `excludeRepos` are skipped, so a held-out repository never reaches training through its
 * changelog.
 */
export async function readChangelogs(
  nodeModules: string,
  excludeRepos: ReadonlySet<string>,
): Promise<ChangelogResult[]> {
  const dirs: string[] = [];
  for (const entry of await readdir(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      for (const inner of await readdir(join(nodeModules, entry.name), { withFileTypes: true })) {
        if (inner.isDirectory()) dirs.push(`${entry.name}/${inner.name}`);
      }
    } else {
      dirs.push(entry.name);
    }
  }
  const results: ChangelogResult[] = [];
  for (const pkg of dirs.sort()) {
    let text: string;
    let manifest: { repository?: unknown; version?: unknown };
    try {
      text = await readFile(join(nodeModules, pkg, 'CHANGELOG.md'), 'utf8');
      manifest = JSON.parse(
        await readFile(join(nodeModules, pkg, 'package.json'), 'utf8'),
      ) as typeof manifest;
    } catch {
      continue;
    }
    const repository = repositoryName(manifest.repository);
    if (repository && excludeRepos.has(repository)) continue;
    const examples = parseChangelog(text, `changelog:${pkg}`);
    if (examples.length === 0) continue;
    results.push({
      pkg,
      repository,
      version: typeof manifest.version === 'string' ? manifest.version : undefined,
      examples,
    });
  }
  return results;
}
