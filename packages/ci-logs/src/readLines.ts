import { ErrorCode } from '@cap/runtime';
import { CiLogError } from './errors.js';
import type { CiLogLimits } from './limits.js';

/** A log's bytes as they arrive: a stream's chunks, or the whole text or buffer at once. */
export type LogSource =
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>
  | Uint8Array
  | string;

/** Bytes at the start inspected for binary content (control characters, invalid UTF-8). */
const SNIFF_BYTES = 8 * 1024;
/** Share of control characters or invalid UTF-8 sequences in the sniffed start that marks a log as binary. */
const BINARY_SHARE = 0.1;

function chunksOf(source: LogSource): AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> {
  return typeof source === 'string' || source instanceof Uint8Array ? [source] : source;
}

function isControl(byte: number): boolean {
  return (
    (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x1b && byte !== 0x0c) ||
    byte === 0x7f
  );
}

/** Counts invalid UTF-8 in `bytes` as the decoder's replacement characters (a cut last sequence is forgiven). */
function replacementShare(bytes: Uint8Array): number {
  const text = new TextDecoder('utf-8').decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
  let bad = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) bad++;
  return text.length === 0 ? 0 : bad / text.length;
}

/** Refuses bytes that are not a text log; `offset` is where `bytes` starts in the log. */
function checkText(bytes: Uint8Array, offset: number, sniff: boolean): void {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new CiLogError(
      ErrorCode.CI_LOG_NOT_TEXT,
      `The log is not text: a NUL byte at offset ${offset + nul}`,
      {
        offset: offset + nul,
      },
    );
  }
  if (!sniff) return;
  const head = bytes.subarray(0, SNIFF_BYTES);
  let controls = 0;
  for (const byte of head) if (isControl(byte)) controls++;
  if (head.length > 0 && (controls / head.length > BINARY_SHARE || replacementShare(head) > BINARY_SHARE)) {
    throw new CiLogError(
      ErrorCode.CI_LOG_NOT_TEXT,
      'The log is not text: its first bytes are mostly control characters or invalid UTF-8',
      { offset },
    );
  }
}

/**
 * Splits a log into lines while it streams (yielded in batches, one per chunk): UTF-8 decoded incrementally, `\n` and `\r\n` end lines, a lone `\r`
 * (a progress bar redrawing) keeps what follows it, lines longer than `maxLineChars` are cut (the rest skipped,
 * never buffered). Refuses binary input (`CI_LOG_NOT_TEXT`) and more than `maxLogBytes` (`CI_LOG_TOO_LARGE`).
 * Memory is bounded by one chunk plus one line, whatever the log's size.
 */
export async function* readLines(
  source: LogSource,
  limits: Pick<CiLogLimits, 'maxLogBytes' | 'maxLineChars'>,
  onBytes?: (total: number) => void,
): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8');
  let bytes = 0;
  let partial = '';
  let overflow = false;
  let sniffed = false;
  const take = (piece: string, end: boolean): string | undefined => {
    if (!overflow) {
      const room = limits.maxLineChars - partial.length;
      if (piece.length > room) {
        partial += piece.slice(0, room);
        overflow = true;
      } else partial += piece;
    }
    if (!end) return undefined;
    let line = partial.endsWith('\r') ? partial.slice(0, -1) : partial;
    const cr = line.lastIndexOf('\r');
    if (cr !== -1) line = line.slice(cr + 1);
    partial = '';
    overflow = false;
    return line;
  };
  for await (const chunk of chunksOf(source)) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (data.length === 0) continue;
    checkText(data, bytes, !sniffed);
    sniffed = true;
    bytes += data.length;
    onBytes?.(bytes);
    if (bytes > limits.maxLogBytes) {
      throw new CiLogError(ErrorCode.CI_LOG_TOO_LARGE, `The log is larger than ${limits.maxLogBytes} bytes`, {
        limit: 'maxLogBytes',
        max: limits.maxLogBytes,
        actual: bytes,
      });
    }
    const text = decoder.decode(data, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const line = take(text.slice(start, newline), true);
      start = newline + 1;
      if (line !== undefined) lines.push(line);
    }
    if (start < text.length) take(text.slice(start), false);
    if (lines.length > 0) yield lines;
  }
  const rest = decoder.decode();
  if (rest) take(rest, false);
  if (partial.length > 0) {
    const line = take('', true);
    if (line !== undefined) yield [line];
  }
}
