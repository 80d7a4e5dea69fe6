import type { TaskType } from '@cap/events';
import type { CorpusExample } from '../examples.js';
import { CONVENTIONAL_TYPE_MAP } from '../labels.js';

/**
 * Label cleaning applied to corpus examples before training and before evaluation (the same rules on both
 * sides, so held-out numbers are measured against the labels the model is trained to give).
 */
export interface CleaningOptions {
  /** Drop commits by dependency bots (renovate, dependabot, …): they are not tasks anyone wrote. */
  dropBots: boolean;
  /**
   * Drop dependency updates (`chore(deps)`, `fix(deps)`, "bump x from 1 to 2", "update dependency x"): the
   * same text is a `fix`, a `chore` or a `build` by each project's release policy, not by the work.
   */
  dropDependencyUpdates: boolean;
  /** Drop reverts (their text is the reverted change's subject, whatever type that was). */
  dropReverts: boolean;
  /**
   * Drop squash commits whose body lists conventional subjects of more than one type (`* feat: a`,
   * `* fix: b`): the one label on the subject describes only part of the work the diff measures.
   */
  dropMultiType?: boolean;
  /**
   * Relabel by scope and by what the diff touched: a `fix(docs)` or a `feat` that only changed documentation
   * files is DOCUMENTATION, one that only changed test files is TEST, `fix(ci)` / `fix(build)` is CHORE.
   */
  relabel: boolean;
}

/** The cleaning of the committed model (each rule measured on held-out repositories; see the README). */
export const DEFAULT_CLEANING: CleaningOptions = {
  dropBots: true,
  dropDependencyUpdates: true,
  dropReverts: false,
  relabel: true,
};

const DEPENDENCY_SCOPE =
  /^(deps|deps-dev|dev-deps|devdeps|dependencies|dependency|deps-major|lockfile|renovate)$/;
const DEPENDENCY_TITLE =
  /^(update|bump|upgrade|pin|lock)\b.{0,200}?\b(dependenc(y|ies)|deps?|devdependencies|from\s+v?\d[\w.-]*\s+to\s+v?\d|to\s+[v^~]?\d[\w.-]*\s*$|(?:@?[\w.-]+\/)?[\w.-]+\s+monorepo\b|lock\s?file)/i;
const DOC_SCOPE = /^(docs?|readme|documentation|website|typo|examples?|guide|jsdoc|tsdoc|changelog)$/;
const TEST_SCOPE = /^(tests?|testing|e2e|specs?|unit[- ]tests?|test-?utils?|jest|vitest)$/;
const CHORE_SCOPE =
  /^(ci|build|release|workflows?|actions|github|gh-actions|lint|eslint|prettier|tooling|scripts)$/;

/** A body line that is itself a conventional-commit subject (`* fix(core): x`, `feat: y`). */
const LISTED_SUBJECT =
  /^\s*(?:[*-]\s+)?(feat|feature|fix|docs?|chore|refactor|perf|tests?|build|ci|style|revert)(?:\([^)\n]{0,60}\))?!?:\s/gim;

/** True when a body lists conventional subjects of at least two different types (a multi-type squash). */
export function isMultiTypeSquash(example: Pick<CorpusExample, 'description' | 'conventionalType'>): boolean {
  const types = new Set<string>();
  for (const match of example.description.matchAll(LISTED_SUBJECT)) {
    const listed = (match[1] ?? '').toLowerCase();
    types.add(CONVENTIONAL_TYPE_MAP[listed] ?? listed);
  }
  if (types.size === 0) return false;
  if (example.conventionalType !== undefined)
    types.add(CONVENTIONAL_TYPE_MAP[example.conventionalType] ?? example.conventionalType);
  return types.size >= 2;
}

/** True when a commit is a dependency update by its scope or its wording. */
export function isDependencyUpdate(example: Pick<CorpusExample, 'scope' | 'title'>): boolean {
  return (
    (example.scope !== undefined && DEPENDENCY_SCOPE.test(example.scope)) ||
    DEPENDENCY_TITLE.test(example.title)
  );
}

/** The label after relabelling by scope and changed paths (see {@link CleaningOptions.relabel}). */
export function relabelled(example: CorpusExample): TaskType | undefined {
  const type = example.type;
  if (!type || type === 'OTHER') return type;
  const scope = example.scope;
  if (scope !== undefined) {
    if (DOC_SCOPE.test(scope)) return 'DOCUMENTATION';
    if (TEST_SCOPE.test(scope)) return 'TEST';
    if (CHORE_SCOPE.test(scope) && type !== 'FEATURE') return 'CHORE';
  }
  if (example.changed === 'docs' && type !== 'DOCUMENTATION') return 'DOCUMENTATION';
  if (example.changed === 'tests' && type !== 'TEST') return 'TEST';
  return type;
}

/** Applies the cleaning rules; returns the examples kept (relabelled copies) and how many each rule dropped. */
export function cleanCorpus(
  examples: readonly CorpusExample[],
  options: CleaningOptions = DEFAULT_CLEANING,
): {
  examples: CorpusExample[];
  dropped: Record<'bots' | 'dependencyUpdates' | 'reverts' | 'multiType', number>;
  relabelled: number;
} {
  const dropped = { bots: 0, dependencyUpdates: 0, reverts: 0, multiType: 0 };
  let changed = 0;
  const kept: CorpusExample[] = [];
  for (const example of examples) {
    if (options.dropBots && example.bot) {
      dropped.bots += 1;
      continue;
    }
    if (
      options.dropDependencyUpdates &&
      example.conventionalType !== undefined &&
      isDependencyUpdate(example)
    ) {
      dropped.dependencyUpdates += 1;
      continue;
    }
    if (options.dropReverts && example.type === 'OTHER') {
      dropped.reverts += 1;
      continue;
    }
    if (options.dropMultiType && isMultiTypeSquash(example)) {
      dropped.multiType += 1;
      continue;
    }
    const type = options.relabel ? relabelled(example) : example.type;
    if (type !== example.type) changed += 1;
    kept.push(type === undefined ? example : { ...example, type });
  }
  return { examples: kept, dropped, relabelled: changed };
}
