import type { TaskComplexity, TaskType } from '@cap/events';
import type { TaskText } from './examples.js';
import { filePaths, STACK_FRAME } from './text.js';

/** One head's answer from the heuristic: a label and how sure the rule that fired is (0..1). */
export interface HeuristicAnswer<L extends string> {
  label: L;
  confidence: number;
  /** Which rule decided, for explanations and tests. */
  rule: string;
}

interface TypeRule {
  rule: string;
  type: TaskType;
  confidence: number;
  /** Tested against the title; `inDescription` rules also look at the description. */
  pattern: RegExp;
  inDescription?: boolean;
}

/**
 * Rules in priority order; the first that matches decides. Confidence reflects how rarely the wording
 * appears under another label in conventional-commit histories: "typo" and "bump x to" almost never do,
 * a bare "add" often does (features, tests and docs all "add").
 */
const TYPE_RULES: readonly TypeRule[] = [
  { rule: 'revert', type: 'OTHER', confidence: 0.95, pattern: /^\s*["']?revert\b/i },
  {
    rule: 'dependency-bump',
    type: 'CHORE',
    confidence: 0.92,
    pattern:
      /\b(bump|update|upgrade)\b.*\b(dep(endenc(y|ies))?s?|to v?\d+(\.\d+)*)\b|\bdeps?\b|\block ?file\b/i,
  },
  { rule: 'typo', type: 'DOCUMENTATION', confidence: 0.9, pattern: /\btypos?\b|\bspelling\b|\bgrammar\b/i },
  {
    rule: 'flaky-test',
    type: 'TEST',
    confidence: 0.9,
    pattern:
      /\bflak(y|iness)\b|\b(add|more|missing|improve)\b.*\b(tests?|specs?|coverage)\b|\b(unit|e2e|integration) tests?\b|\btest (case|suite)s?\b/i,
  },
  { rule: 'stack-trace', type: 'BUG_FIX', confidence: 0.9, pattern: STACK_FRAME, inDescription: true },
  {
    rule: 'docs',
    type: 'DOCUMENTATION',
    confidence: 0.85,
    pattern: /\b(readme|docs?|documentation|jsdoc|tsdoc|docstring|guide|example|tutorial)\b/i,
  },
  {
    rule: 'bug-words',
    type: 'BUG_FIX',
    confidence: 0.8,
    pattern:
      /\b(fix(es|ed)?|bugs?|crash(es|ed)?|broken|regression|incorrect(ly)?|wrong|fails?|failing|error|exception|should(n't| not)?|doesn't|does not|not working|undefined|null|avoid|prevent|ensure|correct(ly)?|properly|handle|missing|issue|when|infinite|leak)\b/i,
  },
  {
    rule: 'refactor-words',
    type: 'REFACTOR',
    confidence: 0.75,
    pattern:
      /\b(refactor(ing)?|rename|restructure|extract|simplify|clean ?up|reorganize|move .* to|dedupe|performance|perf|optimi[sz]e|speed up|faster|reduce|unused|remove|replace|internal)\b/i,
  },
  {
    rule: 'chore-words',
    type: 'CHORE',
    confidence: 0.75,
    pattern:
      /\b(ci|lint(ing|er)?|eslint|prettier|format(ting)?|release|publish|workflow|github actions?|build|tsconfig|renovate|dependabot|node \d+|update|upgrade|config|script)\b/i,
  },
  { rule: 'test-words', type: 'TEST', confidence: 0.7, pattern: /\b(tests?|specs?|e2e)\b/i },
  {
    rule: 'feature-words',
    type: 'FEATURE',
    confidence: 0.7,
    pattern: /\b(add(s|ed)?|support(s)?|implement|introduce|new|allow|enable|expose|endpoint|option)\b/i,
  },
];

/** Classifies the type by keyword rules; falls back to BUG_FIX (the most common change) at low confidence. */
export function heuristicType(text: TaskText): HeuristicAnswer<TaskType> {
  const title = text.title.slice(0, 2_000);
  const description = text.description.slice(0, 20_000);
  if (title.trim().length === 0 && description.trim().length === 0)
    return { label: 'OTHER', confidence: 0.2, rule: 'empty' };
  for (const rule of TYPE_RULES) {
    if (rule.pattern.test(title)) return { label: rule.type, confidence: rule.confidence, rule: rule.rule };
    if (rule.inDescription && rule.pattern.test(description)) {
      return { label: rule.type, confidence: rule.confidence, rule: rule.rule };
    }
  }
  return { label: 'BUG_FIX', confidence: 0.3, rule: 'default' };
}

/**
 * Classifies the complexity from the scope the text implies: one-line chores and typos are SIMPLE;
 * words of breadth (migrate, rewrite, across, all) or many file paths are COMPLEX; the rest MEDIUM.
 */
export function heuristicComplexity(text: TaskText): HeuristicAnswer<TaskComplexity> {
  const title = text.title.slice(0, 2_000);
  const description = text.description.slice(0, 20_000);
  if (title.trim().length === 0 && description.trim().length === 0)
    return { label: 'SIMPLE', confidence: 0.2, rule: 'empty' };
  const paths = new Set(filePaths(`${title}\n${description}`)).size;
  if (/\b(typos?|spelling|bump|version|wording|comment)\b/i.test(title))
    return { label: 'SIMPLE', confidence: 0.8, rule: 'one-line-change' };
  if (
    paths > 5 ||
    /\b(migrate|migration|rewrite|overhaul|redesign|across|architecture|monorepo|all (packages|files|components))\b/i.test(
      title,
    )
  ) {
    return { label: 'COMPLEX', confidence: 0.7, rule: 'broad-change' };
  }
  if (paths === 1 && description.length < 300) return { label: 'SIMPLE', confidence: 0.6, rule: 'one-file' };
  if (description.length > 1_500 || paths > 1)
    return { label: 'MEDIUM', confidence: 0.55, rule: 'several-files' };
  return { label: 'MEDIUM', confidence: 0.4, rule: 'default' };
}
