/**
 * The corpus as the lever scripts read it (ADR 0027, ADR 0037): the manifest's heads, the training command's
 * read options and its corpus cache, the committed cleaning's labels on both test sets. Shared by
 * `levers.ts` and `embeddingLevers.ts` so their training and test sets are the same examples.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  cleanCorpus,
  DEFAULT_CLEANING,
  readChangelogs,
  readGitCommitsCached,
  type CleaningOptions,
  type CorpusExample,
  type Example,
} from '@cap/task-classifier';

export const packageDir = resolve(import.meta.dirname, '..');
export const log = (line: string) => process.stdout.write(`${line}\n`);
export const pct = (value: number) => (value * 100).toFixed(1);
const maxPerRepo = 3000;

export interface LeversCorpus {
  /** Every repository's read, before cleaning, by `owner/name`. */
  reads: Map<string, CorpusExample[]>;
  heldOut: Set<string>;
  validation: Set<string>;
  /** A repository's examples with the committed cleaning, capped per repository. */
  committedLabels(repo: string): CorpusExample[];
  /** The validation repositories' examples (committed labels): where choices are made. */
  validationSet: Example[];
  /** The held-out repositories' examples (committed labels): reported only. */
  heldOutSet: Example[];
  /** The other training repositories cleaned with `cleaning`, plus the changelogs unless left out. */
  training(cleaning?: CleaningOptions, withChangelogs?: boolean): Example[];
}

/** Reads (or takes from the corpus cache) all the manifest's repositories and the changelogs. */
export async function readLeversCorpus(): Promise<LeversCorpus> {
  const mirrorDir = process.env['TRAINING_MIRROR_DIR'] ?? '/work/.mirror';
  const cacheDir = join(tmpdir(), 'cap-task-classifier-corpus');
  const manifest = JSON.parse(await readFile(join(packageDir, 'model', 'sources.json'), 'utf8')) as {
    repositories: { repo: string; head: string; role: string }[];
  };
  const heldOut = new Set(manifest.repositories.filter((r) => r.role === 'held-out').map((r) => r.repo));
  const validation = new Set(
    manifest.repositories.filter((r) => r.role === 'training (validation)').map((r) => r.repo),
  );
  const reads = new Map<string, CorpusExample[]>();
  for (const { repo, head } of manifest.repositories) {
    const gitDir = join(mirrorDir, repo.replace('/', '+'), 'repo');
    if (!existsSync(gitDir)) throw new Error(`${repo} is not under ${mirrorDir}`);
    const read = await readGitCommitsCached(
      { repo, gitDir, head },
      {
        maxExamples: heldOut.has(repo) ? 2 * maxPerRepo : Math.ceil(1.25 * maxPerRepo),
        maxCommits: 20_000,
        maxBotShare: heldOut.has(repo) ? 0.1 : 0,
      },
      cacheDir,
    );
    reads.set(repo, read.examples);
  }
  const committedLabels = (repo: string) =>
    cleanCorpus(reads.get(repo) ?? [], DEFAULT_CLEANING).examples.slice(0, maxPerRepo);
  const changelogs = (
    await readChangelogs(
      join(packageDir, '../../node_modules'),
      new Set(manifest.repositories.map((r) => r.repo.toLowerCase())),
    )
  ).flatMap((entry) => entry.examples);
  return {
    reads,
    heldOut,
    validation,
    committedLabels,
    validationSet: [...validation].flatMap(committedLabels),
    heldOutSet: [...heldOut].flatMap(committedLabels),
    training(cleaning = DEFAULT_CLEANING, withChangelogs = true) {
      const examples: Example[] = [];
      for (const repo of [...reads.keys()].sort()) {
        if (heldOut.has(repo) || validation.has(repo)) continue;
        examples.push(...cleanCorpus(reads.get(repo) ?? [], cleaning).examples.slice(0, maxPerRepo));
      }
      if (withChangelogs) examples.push(...changelogs);
      return examples;
    },
  };
}
