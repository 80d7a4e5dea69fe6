import { lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox } from './Sandbox.js';

/**
 * Makes `dir` (recursively) writable by the sandbox: when sandboxes run as another host user (the worker is
 * root), the tree is given to that user. Symlinks are changed themselves, never followed.
 */
export async function grantWorkspace(sandbox: Sandbox, dir: string): Promise<void> {
  const user = sandbox.hostUser;
  if (sandbox.mode !== 'bwrap' || !user) return;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    await lchown(current, user.uid, user.gid);
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else await lchown(path, user.uid, user.gid);
    }
  }
}
