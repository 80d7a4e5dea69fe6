import { createHash } from 'node:crypto';

/** Content types chat accepts, with how each is recognised from its bytes. */
export const ATTACHMENT_CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'text/markdown',
  'application/json',
] as const;

/** An allowed content type. */
export type AttachmentContentType = (typeof ATTACHMENT_CONTENT_TYPES)[number];

/** Types recognised by magic bytes; the others are UTF-8 text without NUL bytes. */
const MAGIC: ReadonlyArray<{ type: AttachmentContentType; matches: (head: Buffer) => boolean }> = [
  {
    type: 'image/png',
    matches: (head) =>
      head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { type: 'image/jpeg', matches: (head) => head.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])) },
  {
    type: 'image/gif',
    matches: (head) => ['GIF87a', 'GIF89a'].includes(head.subarray(0, 6).toString('latin1')),
  },
  {
    type: 'image/webp',
    matches: (head) =>
      head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  { type: 'application/pdf', matches: (head) => head.subarray(0, 5).toString('latin1') === '%PDF-' },
];

/** Bytes needed to recognise every binary type. */
const HEAD_BYTES = 12;

const TEXT_TYPES: ReadonlySet<AttachmentContentType> = new Set([
  'text/plain',
  'text/markdown',
  'application/json',
]);

/** Normalises a declared content type (`Text/Plain; charset=utf-8` → `text/plain`); null when not allowed. */
export function parseContentType(value: string): AttachmentContentType | null {
  const type = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return (ATTACHMENT_CONTENT_TYPES as readonly string[]).includes(type)
    ? (type as AttachmentContentType)
    : null;
}

/** The binary type `head` starts with, if any. */
export function sniffBinaryType(head: Buffer): AttachmentContentType | null {
  return MAGIC.find((magic) => magic.matches(head))?.type ?? null;
}

/** Why an upload was refused while it streamed in. */
export class UploadRejectedError extends Error {
  constructor(
    readonly kind: 'too-large' | 'content-mismatch' | 'empty',
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'UploadRejectedError';
  }
}

/** What an upload turned out to be, once it passed every check. */
export interface InspectedUpload {
  size: number;
  sha256: string;
}

/**
 * Passes `source` through while enforcing, as the bytes arrive: the size cap (`maxBytes`), and that the content
 * is what `contentType` says: the right magic bytes for images and PDF; valid UTF-8 without NUL bytes (and
 * not a known binary format) for text types. Throws {@link UploadRejectedError} at the first violation, so a
 * storage adapter consuming it stops and discards what it wrote. `result` is filled in once the stream ends.
 */
export async function* inspectUpload(
  source: AsyncIterable<Uint8Array>,
  expected: { contentType: AttachmentContentType; maxBytes: number },
  result: Partial<InspectedUpload>,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  const text = TEXT_TYPES.has(expected.contentType);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let head = Buffer.alloc(0);
  let headChecked = false;
  let size = 0;

  const mismatch = (received: string): UploadRejectedError =>
    new UploadRejectedError('content-mismatch', `The content is not ${expected.contentType}.`, {
      field: 'content',
      expected: expected.contentType,
      received,
    });
  const checkHead = (): void => {
    headChecked = true;
    const sniffed = sniffBinaryType(head);
    if (text ? sniffed !== null : sniffed !== expected.contentType)
      throw mismatch(sniffed ?? 'unrecognised bytes');
  };

  for await (const raw of source) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    size += chunk.length;
    if (size > expected.maxBytes) {
      throw new UploadRejectedError('too-large', `The upload exceeds ${expected.maxBytes} bytes.`, {
        limitBytes: expected.maxBytes,
      });
    }
    if (!headChecked) {
      head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
      if (head.length >= HEAD_BYTES) checkHead();
    }
    if (text) {
      if (chunk.includes(0)) throw mismatch('binary data (NUL bytes)');
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        throw mismatch('bytes that are not UTF-8');
      }
    }
    hash.update(chunk);
    yield chunk;
  }
  if (size === 0)
    throw new UploadRejectedError('empty', 'The upload is empty.', {
      field: 'content',
      expected: 'at least 1 byte',
    });
  if (!headChecked) checkHead();
  if (text) {
    try {
      decoder.decode();
    } catch {
      throw mismatch('bytes that are not UTF-8 (truncated sequence)');
    }
  }
  result.size = size;
  result.sha256 = hash.digest('hex');
}
