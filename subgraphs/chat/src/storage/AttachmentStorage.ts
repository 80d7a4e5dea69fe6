import type { Readable } from 'node:stream';

/**
 * Where attachment bytes live, behind one interface: local disk by default, any S3-compatible store otherwise.
 * Keys are attachment ids (UUIDs), never anything a user typed.
 */
export interface AttachmentStorage {
  readonly kind: 'local' | 's3';
  /**
   * Stores `body` under `key`, all or nothing: when `body` throws (size cap, content check) or the write fails,
   * nothing is left behind and the error propagates.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, options: { contentType: string }): Promise<void>;
  /** The stored bytes, or null when there are none. */
  get(key: string): Promise<Readable | null>;
  /** Removes the bytes; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Probe for `/ready`: round-trip ms; throws when the store is unusable. */
  ping(): Promise<number>;
  /** Releases what the store holds open (connections); the store is not used afterwards. */
  close(): Promise<void>;
}

const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Keys are attachment ids: anything else is a programming error, refused before it can touch a path or URL. */
export function assertStorageKey(key: string): void {
  if (!KEY.test(key))
    throw new Error(
      `attachment storage key must be a lower-case UUID, got ${JSON.stringify(key.slice(0, 80))}`,
    );
}
