import { chmod, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes a directory a sandboxed command wrote to. A command can leave directories without write or search
 * permission (`chmod 000`), which `rm -r` by a non-root worker cannot descend into: on a permission error the
 * tree's directories are made accessible to their owner and the removal is tried again. Idempotent.
 */
export async function removeWorkspaceTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw error;
  }
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    await chmod(current, 0o700).catch(() => undefined);
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) pending.push(join(current, entry.name));
  }
  await rm(dir, { recursive: true, force: true });
}
