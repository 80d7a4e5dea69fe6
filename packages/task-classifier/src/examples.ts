import type { TaskComplexity, TaskType } from '@cap/events';

/** Title and description of a task: everything the classifier reads. */
export interface TaskText {
  title: string;
  description: string;
}

/**
 * One labelled training example. `complexity` is absent when the source has no diff (changelog entries);
 * such examples train only the type head. `group` names the source (a repository `owner/name` or a
 * changelog package) so evaluation can hold whole sources out.
 */
export interface Example extends TaskText {
  type?: TaskType;
  complexity?: TaskComplexity;
  group: string;
}

/** A labelled example as the corpus readers produce it, with where it came from. */
export interface CorpusExample extends Example {
  /** Commit SHA, or `CHANGELOG.md` line reference. */
  ref: string;
  /** True for commits by dependency bots (renovate, dependabot), which are capped per source. */
  bot: boolean;
  /** The conventional-commit type as written (`fix`, `chore`), for label cleaning; absent for changelogs. */
  conventionalType?: string;
  /** The conventional-commit scope (`deps`, `core`), for label cleaning; never part of the text. */
  scope?: string;
  /** What the commit's counted files are, when all of one kind (`docs`, `tests`), else `code` or `mixed`. */
  changed?: 'docs' | 'tests' | 'code' | 'mixed';
}
