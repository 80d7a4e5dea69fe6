import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, type AttachmentStorage } from './AttachmentStorage.js';

/** Incoming uploads are written here first and renamed into place once complete and checked. */
const INCOMING = '.incoming';

/**
 * Attachments as files under one directory (`DATA_DIR/attachments`), named by attachment id. Uploads stream to
 * a temporary file in the same directory tree and are renamed into place only when complete, so a reader never
 * sees half a file and a rejected upload leaves nothing.
 */
export class LocalDiskStorage implements AttachmentStorage {
  readonly kind = 'local';
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = resolve(dir);
  }

  /** Creates the directories. */
  async init(): Promise<void> {
    await mkdir(join(this.#dir, INCOMING), { recursive: true, mode: 0o700 });
  }

  #path(key: string): string {
    assertStorageKey(key);
    const path = join(this.#dir, key);
    // Belt and braces: a key is a UUID, so this cannot fail, but no path outside the directory is ever opened.
    if (!path.startsWith(this.#dir + sep)) throw new Error('attachment path escapes the storage directory');
    return path;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    const target = this.#path(key);
    const temporary = join(this.#dir, INCOMING, `${key}.${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(Readable.from(body), createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Readable | null> {
    const path = this.#path(key);
    try {
      await stat(path);
    } catch {
      return null;
    }
    return createReadStream(path);
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await stat(this.#dir);
    return performance.now() - started;
  }

  /** Nothing to release: every operation opens and closes its own files. */
  async close(): Promise<void> {}

  /** Removes temporary files older than `olderThanMs` (left by a crash mid-upload); returns how many. */
  async sweepIncoming(olderThanMs: number): Promise<number> {
    const dir = join(this.#dir, INCOMING);
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      if (info && Date.now() - info.mtimeMs > olderThanMs) {
        await rm(path, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
