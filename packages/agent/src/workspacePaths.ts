import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/** A path the model gave that leaves the workspace (or is otherwise unusable); the model sees the message. */
export class PathRefusedError extends Error {
  override readonly name = 'PathRefusedError';
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves a workspace-relative path the model gave to an absolute one inside `root` (a real path), or
 * refuses it: absolute paths, `..` that climbs out, NUL bytes, `.git` internals, and any symlink on the way
 * (the target included, or its deepest existing ancestor for a file about to be created) whose real location
 * is outside the workspace.
 * @throws {PathRefusedError}
 */
export async function resolveWorkspacePath(
  root: string,
  path: string,
  options: { write?: boolean } = {},
): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw new PathRefusedError('The path is empty.');
  if (path.includes('\0')) throw new PathRefusedError('The path contains a NUL byte.');
  if (path.length > 4_096) throw new PathRefusedError('The path is longer than 4096 characters.');
  if (isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('~')) {
    throw new PathRefusedError(
      `${JSON.stringify(path)} is absolute; give a path relative to the repository root.`,
    );
  }
  const segments = path.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  let depth = 0;
  for (const segment of segments) {
    depth += segment === '..' ? -1 : 1;
    if (depth < 0) throw new PathRefusedError(`${JSON.stringify(path)} leaves the repository.`);
  }
  const target = join(root, ...segments);
  if (!inside(root, target)) throw new PathRefusedError(`${JSON.stringify(path)} leaves the repository.`);
  const rel = relative(root, target);
  if (options.write && (rel === '.git' || rel.startsWith(`.git${sep}`))) {
    throw new PathRefusedError('Files under .git are managed by the platform; they cannot be written.');
  }
  // Walk up to the deepest existing ancestor and check where it really is: every symlink on the way resolves.
  let probe = target;
  for (let hops = 0; hops <= segments.length + 1; hops++) {
    const stat = await lstat(probe).catch(() => null);
    if (stat) {
      let real: string;
      try {
        real = await realpath(probe);
      } catch {
        throw new PathRefusedError(`${JSON.stringify(path)} goes through a broken or looping symlink.`);
      }
      if (!inside(root, real))
        throw new PathRefusedError(
          `${JSON.stringify(path)} resolves outside the repository (through a symlink).`,
        );
      if (probe !== target && !(await lstat(real)).isDirectory()) {
        throw new PathRefusedError(`${JSON.stringify(relative(root, probe))} is a file, not a directory.`);
      }
      return probe === target ? real : join(real, relative(probe, target));
    }
    // A dangling symlink has an lstat; a missing entry has none: keep climbing.
    const parent = join(probe, '..');
    if (parent === probe) break;
    probe = parent;
  }
  throw new PathRefusedError(`${JSON.stringify(path)} cannot be resolved inside the repository.`);
}
