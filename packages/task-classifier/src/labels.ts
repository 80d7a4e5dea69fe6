import { TaskComplexity, TaskType } from '@cap/events';

/** The type labels, in the fixed order of the model's type head (index = output column). */
export const TYPE_LABELS: readonly TaskType[] = TaskType.options;
/** The complexity labels, in the fixed order of the model's complexity head. */
export const COMPLEXITY_LABELS: readonly TaskComplexity[] = TaskComplexity.options;

/**
 * Conventional-commit type → TaskType. `perf` is behaviour-preserving code work, so it counts as REFACTOR;
 * `style` (formatting), `build` and `ci` are upkeep, so CHORE; `revert` undoes an earlier change of any type,
 * so OTHER. Types not listed (`wip`, `release`, `workflow`, …) are not used for training.
 */
export const CONVENTIONAL_TYPE_MAP: Readonly<Record<string, TaskType>> = {
  fix: 'BUG_FIX',
  feat: 'FEATURE',
  feature: 'FEATURE',
  refactor: 'REFACTOR',
  perf: 'REFACTOR',
  test: 'TEST',
  tests: 'TEST',
  docs: 'DOCUMENTATION',
  doc: 'DOCUMENTATION',
  chore: 'CHORE',
  build: 'CHORE',
  ci: 'CHORE',
  style: 'CHORE',
  revert: 'OTHER',
};

/** Changelog section heading (lower-cased, as conventional-changelog writes them) → TaskType. */
export const CHANGELOG_SECTION_MAP: Readonly<Record<string, TaskType>> = {
  'bug fixes': 'BUG_FIX',
  features: 'FEATURE',
  'performance improvements': 'REFACTOR',
  'code refactoring': 'REFACTOR',
  refactor: 'REFACTOR',
  documentation: 'DOCUMENTATION',
  docs: 'DOCUMENTATION',
  tests: 'TEST',
  reverts: 'OTHER',
  'build system': 'CHORE',
  'continuous integration': 'CHORE',
  miscellaneous: 'CHORE',
  'miscellaneous chores': 'CHORE',
  chores: 'CHORE',
};

/** Size of a change: files touched and lines changed (added + deleted), generated files excluded. */
export interface ChangeSize {
  files: number;
  lines: number;
}

/**
 * The one definition of complexity, shared by the corpus and by outcome examples: SIMPLE is one file and at
 * most 20 changed lines, MEDIUM at most 5 files and 200 lines, COMPLEX anything bigger.
 */
export function complexityOf(size: ChangeSize): TaskComplexity {
  if (size.files <= 1 && size.lines <= 20) return 'SIMPLE';
  if (size.files <= 5 && size.lines <= 200) return 'MEDIUM';
  return 'COMPLEX';
}

/**
 * Paths whose diff says nothing about the work a task needed: lockfiles, snapshots, build output, minified
 * or generated code, and release notes written for release tooling (`CHANGELOG.md`, `.changeset/` entries).
 */
const EXCLUDED_PATH =
  /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|composer\.lock|go\.sum|CHANGELOG\.md)$|(^|\/)(__snapshots__|dist|generated|vendor|node_modules|\.changeset)\/|\.(snap|min\.js|min\.css|map)$|\.generated\.|(^|\/)golden\//i;

/** True when a changed path counts towards a change's size (see {@link EXCLUDED_PATH}). */
export function countsTowardsSize(path: string): boolean {
  return !EXCLUDED_PATH.test(path);
}

/** What a changed file is: documentation, tests, or anything else (code, configuration). */
export type ChangedPathKind = 'docs' | 'tests' | 'code';

const DOC_PATH = /\.(md|mdx|markdown|rst|adoc|txt)$|(^|\/)(docs?|documentation|website)\//i;
const TEST_PATH =
  /(^|\/)(__tests__|__mocks__|tests?|specs?|e2e|fixtures?|test-?utils?)\/|\.(test|spec|e2e|bench)\.[\w]+$|_test\.(go|py|rs)$|(^|\/)test_[\w]+\.py$/i;

/** Classifies a changed path (tests before docs: `test/fixtures/readme.md` is a test file). */
export function pathKind(path: string): ChangedPathKind {
  if (TEST_PATH.test(path)) return 'tests';
  if (DOC_PATH.test(path)) return 'docs';
  return 'code';
}
