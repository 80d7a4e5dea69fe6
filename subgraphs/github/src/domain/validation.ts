import { codedError, ErrorCode } from '@cap/runtime';

/** GitHub's account names: 1-39 letters, digits or single hyphens, not starting with a hyphen. */
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** GitHub's repository names: 1-100 of letters, digits, `.`, `-`, `_`; never `.` or `..`. */
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** A repository's owner and name, checked before they reach a URL or a query. */
export function repositoryCoordinates(owner: string, name: string): { owner: string; name: string } {
  if (!OWNER.test(owner))
    throw codedError(ErrorCode.BAD_USER_INPUT, 'owner is not a GitHub account name.', {
      field: 'owner',
      expected: '1-39 letters, digits or single hyphens',
    });
  if (!NAME.test(name) || name === '.' || name === '..')
    throw codedError(ErrorCode.BAD_USER_INPUT, 'name is not a GitHub repository name.', {
      field: 'name',
      expected: '1-100 of letters, digits, ".", "-", "_"',
    });
  return { owner, name };
}

/** `owner/name` as a task names a GitHub repository, or null when `reference` is not one (a local path). */
export function parseRepositoryReference(reference: string): { owner: string; name: string } | null {
  const match = /^([^/\s]+)\/([^/\s]+?)(?:\.git)?$/.exec(reference.trim());
  if (!match) return null;
  const [, owner = '', name = ''] = match;
  return OWNER.test(owner) && NAME.test(name) && name !== '.' && name !== '..' ? { owner, name } : null;
}

/** The key lookups go by: GitHub's names are case-insensitive. */
export function fullNameKey(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}
