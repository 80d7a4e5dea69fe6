import { statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codedError, ErrorCode } from '@cap/runtime';

/**
 * A task's repository reference. A GitHub reference is checked for its format only here (whether it is connected
 * and covered by a credential is the github subgraph's to say when the worker asks it for a token); a local reference (for the shell executor) must name an existing git repository on the worker's
 * filesystem.
 */
export type RepositoryRef =
  /** `owner/name` on GitHub; cloned on the host through the github subgraph (GITHUB_SUBGRAPH_URL; else an empty workspace). */
  | { kind: 'github'; owner: string; name: string; canonical: string }
  /** An absolute path (given as a path or a file:// URL) to a git repository the worker can `git clone`. */
  | { kind: 'local'; path: string; canonical: string };

// GitHub's own rules: owners are alphanumeric with inner hyphens (max 39), names [A-Za-z0-9._-] (max 100).
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const EXPECTED = 'owner/name (GitHub), or an absolute path or file:// URL of a local git repository';

function refuse(message: string, received: string): never {
  throw codedError(ErrorCode.BAD_USER_INPUT, message, { field: 'repository', expected: EXPECTED, received });
}

function describe(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}… (${value.length} characters)` : JSON.stringify(value);
}

/** True when `dir` is a git work tree (has `.git`) or a bare repository (has `HEAD` and `objects/`). */
function isGitRepository(dir: string): boolean {
  const exists = (path: string, kind: 'file' | 'dir' | 'any'): boolean => {
    try {
      const stat = statSync(path);
      return kind === 'any' || (kind === 'dir' ? stat.isDirectory() : stat.isFile());
    } catch {
      return false;
    }
  };
  if (!exists(dir, 'dir')) return false;
  return (
    exists(join(dir, '.git'), 'any') ||
    (exists(join(dir, 'HEAD'), 'file') && exists(join(dir, 'objects'), 'dir'))
  );
}

/**
 * Parses and checks a repository reference. Local references are accepted only when `allowLocal` (the shell
 * executor is enabled) and must be an existing git repository: anything else is an unknown repository.
 * @throws {GraphQLError} BAD_USER_INPUT with `field: 'repository'`
 */
export function parseRepositoryRef(raw: string, options: { allowLocal: boolean }): RepositoryRef {
  const value = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (value.length === 0 || value.length > 1_000 || /[\u0000-\u001f\u007f]/.test(value)) {
    refuse('Repository reference is not valid.', describe(value));
  }
  let localPath: string | undefined;
  if (value.startsWith('file:')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return refuse('Repository reference is not a valid file:// URL.', describe(value));
    }
    if (url.host !== '' && url.host !== 'localhost')
      refuse('file:// URLs must name a local path.', describe(value));
    if (url.search || url.hash) refuse('file:// URLs must not carry a query or fragment.', describe(value));
    localPath = fileURLToPath(url);
  } else if (value.startsWith('/')) {
    localPath = value;
  }
  if (localPath !== undefined) {
    if (!options.allowLocal)
      refuse(
        'Local repositories are available only with the shell executor, which is disabled here.',
        describe(value),
      );
    const path = normalize(localPath).replace(/(.)\/+$/, '$1');
    if (!isAbsolute(path) || path.split('/').includes('..'))
      refuse('Local repository paths must be absolute.', describe(value));
    if (!isGitRepository(path))
      refuse('Unknown repository: no git repository at that path.', describe(value));
    return { kind: 'local', path, canonical: path };
  }
  const parts = value.split('/');
  const [owner, name] = parts;
  if (
    parts.length !== 2 ||
    owner === undefined ||
    name === undefined ||
    !OWNER.test(owner) ||
    !NAME.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    refuse('Repository reference is not valid.', describe(value));
  }
  const repository = name.endsWith('.git') ? name.slice(0, -4) : name;
  if (repository.length === 0) refuse('Repository reference is not valid.', describe(value));
  return { kind: 'github', owner, name: repository, canonical: `${owner}/${repository}` };
}
