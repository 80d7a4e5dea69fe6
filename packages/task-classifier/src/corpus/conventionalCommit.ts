import type { TaskType } from '@cap/events';
import { CONVENTIONAL_TYPE_MAP } from '../labels.js';

/** A commit message split into the parts training uses; the prefix and scope are gone from the text. */
export interface ParsedCommit {
  /** The conventional type as written (`fix`, `feat`, …), lower-cased. */
  conventionalType: string;
  /** The TaskType it maps to, or undefined when the type is not mapped (e.g. `wip`, `release`). */
  type: TaskType | undefined;
  /** The scope as written (`core`, `deps`), lower-cased; kept for label cleaning, never part of the text. */
  scope?: string;
  /** The subject without `type(scope)!:` and without PR numbers. */
  title: string;
  /** The body without trailers, issue references and PR numbers. */
  description: string;
}

/** `type(scope)!: subject`; the scope is dropped entirely because it often names the label (`fix(docs)`). */
const HEADER = /^\s*([a-zA-Z]+)(?:\(([^)]*)\))?(!)?\s*:\s*(.+)$/;
/** GitHub's own revert subject, `Revert "feat: x"`. */
const GITHUB_REVERT = /^\s*Revert\s+"(.+)"\s*$/;
/** `(#1234)`, `(#1234, #1235)`, `(fix #12)` anywhere, and bare `#1234` at the end of a subject. */
const PR_NUMBERS =
  /\s*\((?:(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|see|re)\s*)?#\d+(?:\s*,\s*#\d+)*\)|\s+#\d+\s*$/gi;
/**
 * Trailer lines (`Signed-off-by: …`, `Co-authored-by: …`, `PR Close #1`) and issue-closing lines
 * (`fix #123`, `closes vuejs/core#1`): metadata, not description, and some of them echo the label.
 */
const TRAILER_LINE =
  /^\s*(?:[A-Z][A-Za-z]*(?:-[A-Za-z]+)+:\s.*|PR Close #\d+.*|(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|ref(?:s)?|see|related(?: to)?|part of)\s*:?\s*(?:[\w.-]+\/[\w.-]+)?#\d+.*|(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s*https?:\/\/\S+\s*)$/i;
/** Bodies are capped because bot bodies (release notes pasted in) would swamp the vocabulary. */
export const MAX_BODY_CHARS = 2_000;

/** Removes PR numbers from a line. */
export function stripPrNumbers(text: string): string {
  return text.replace(PR_NUMBERS, '').trim();
}

/** Removes trailers and issue references from a commit body and caps its length. */
export function cleanBody(body: string): string {
  const lines = body
    .split(/\r?\n/)
    .filter((line) => !TRAILER_LINE.test(line))
    .map((line) => line.replace(PR_NUMBERS, '').trimEnd());
  const text = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return text.length > MAX_BODY_CHARS ? text.slice(0, MAX_BODY_CHARS) : text;
}

/**
 * Parses a full commit message (subject, blank line, body). Returns undefined for messages that are not
 * conventional commits, or whose subject is nothing but a version (release commits are not tasks).
 */
export function parseConventionalCommit(message: string): ParsedCommit | undefined {
  const newline = message.indexOf('\n');
  const subject = (newline === -1 ? message : message.slice(0, newline)).trim();
  const body = newline === -1 ? '' : message.slice(newline + 1);
  let conventionalType: string;
  let title: string;
  let scope: string | undefined;
  const revert = GITHUB_REVERT.exec(subject);
  const header = revert ? undefined : HEADER.exec(subject);
  if (revert) {
    conventionalType = 'revert';
    title = revert[1] ?? '';
  } else if (header) {
    conventionalType = (header[1] ?? '').toLowerCase();
    scope = header[2]?.trim().toLowerCase() || undefined;
    title = header[4] ?? '';
  } else {
    return undefined;
  }
  title = stripPrNumbers(title);
  if (title.length === 0 || /^(release\s+)?v?\d+\.\d+[\w.-]*$/i.test(title)) return undefined;
  return {
    conventionalType,
    type: CONVENTIONAL_TYPE_MAP[conventionalType],
    ...(scope ? { scope } : {}),
    title,
    description: cleanBody(body),
  };
}
