import { codedError, ErrorCode } from '@cap/runtime';

/** Longest branch name a task may name, characters. */
export const MAX_BRANCH_NAME_LENGTH = 255;

const EXPECTED = `a git branch name of 1-${MAX_BRANCH_NAME_LENGTH} characters: no spaces, control characters or any of ~^:?*[\\, no "..", "@{" or "//", not starting with "-", "/" or ".", no part starting with "." or ending with ".lock", not ending with "/" or "."`;

// C0 controls (NUL included), DEL, space and git's forbidden punctuation (git-check-ref-format(1) rules 4 and 5).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTER = /[\u0000-\u0020\u007f~^:?*[\\]/;

/** Why `name` is not a branch name git would accept (check-ref-format of `refs/heads/<name>`), or null. */
export function branchNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_BRANCH_NAME_LENGTH) return `it is ${name.length} characters long`;
  if (FORBIDDEN_CHARACTER.test(name)) return 'it contains a space, a control character or one of ~^:?*[\\';
  if (name.startsWith('-')) return 'it starts with "-" (it would be read as an option)';
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  if (name === '@') return 'it is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return 'it starts or ends with "/" or contains "//"';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'a part of it starts with "."';
    if (part.endsWith('.lock')) return 'a part of it ends with ".lock"';
  }
  return null;
}

/**
 * A task's base branch as given by a client or an event: a git branch name that git accepts and that can never be
 * read as an option or a revision expression (it is still always passed to git after `--` or as an option's own
 * argument). @throws {GraphQLError} BAD_USER_INPUT with `field`, `expected`, `received`
 */
export function parseBranchName(value: string, field = 'baseBranch'): string {
  const problem = branchNameProblem(value);
  if (problem === null) return value;
  const received = value.length > 80 ? `${value.length} characters` : JSON.stringify(value);
  throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is not a valid branch name: ${problem}.`, {
    field,
    expected: EXPECTED,
    received,
  });
}

/** `createTask`'s `baseBranch`: null when absent, else a branch name of the task's repository (which it needs). */
export function parseBaseBranch(value: string | null | undefined, repository: string | null): string | null {
  if (value === null || value === undefined) return null;
  const branch = parseBranchName(value);
  if (repository === null) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'baseBranch needs a repository.', {
      field: 'baseBranch',
      expected: 'no baseBranch, or a repository beside it',
      received: 'a baseBranch without a repository',
    });
  }
  return branch;
}
