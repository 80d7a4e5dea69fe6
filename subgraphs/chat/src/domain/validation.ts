import { codedError, ErrorCode } from '@cap/runtime';
import { createCursorCodec, cursorPart } from '@cap/runtime/kit';

/** Longest conversation title, characters. */
export const TITLE_MAX_LENGTH = 200;
/** Longest search query, characters. */
export const SEARCH_MAX_LENGTH = 256;
/** Longest attachment display name, UTF-8 bytes (what most file systems allow for one name). */
export const FILE_NAME_MAX_BYTES = 255;
/** Most participants added in one call. */
export const MAX_PARTICIPANTS_PER_CALL = 100;
/** Most attachments on one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AGENT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
// C0 controls except tab, line feed and carriage return; DEL; C1 controls.
// eslint-disable-next-line no-control-regex
const BODY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional overrides and isolates: they make `evil\u202Etxt.exe` display as `evilexe.txt`.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** False for strings with lone UTF-16 surrogates (not representable in UTF-8; PostgreSQL would refuse them). */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

function badInput(message: string, field: string, expected: string, received: string): Error {
  return codedError(ErrorCode.BAD_USER_INPUT, message, { field, expected, received });
}

/** A UUID, or BAD_USER_INPUT (Prisma would otherwise fail on a malformed id with an unexpected error). */
export function parseId(value: string, field = 'id'): string {
  if (!UUID.test(value))
    throw badInput(`${field} is not a valid id.`, field, 'a UUID', `${value.length} characters`);
  return value.toLowerCase();
}

/** A list of UUIDs without duplicates, at most `max`. */
export function parseIds(values: readonly string[], field: string, max: number): string[] {
  if (values.length > max)
    throw badInput(`At most ${max} ${field}.`, field, `at most ${max} ids`, `${values.length} ids`);
  return [...new Set(values.map((value) => parseId(value, field)))];
}

/** An agent id: a lower-case slug such as `coding-agent`. */
export function parseAgentId(value: string, field = 'agentIds'): string {
  if (!AGENT_ID.test(value)) {
    throw badInput(
      'Agent ids are lower-case slugs.',
      field,
      'a-z, 0-9 and "-", 1-63 characters',
      `${value.length} characters`,
    );
  }
  return value;
}

/** A conversation title: 1-200 printable characters on one line. */
export function parseTitle(value: string): string {
  const title = value.trim();
  if (
    title.length === 0 ||
    title.length > TITLE_MAX_LENGTH ||
    ANY_CONTROL.test(title) ||
    !isWellFormed(title)
  ) {
    throw badInput(
      `title must be 1-${TITLE_MAX_LENGTH} printable characters.`,
      'title',
      `1-${TITLE_MAX_LENGTH} printable characters on one line`,
      `${title.length} characters`,
    );
  }
  return title;
}

/**
 * A Markdown message body: not blank, at most `maxBytes` UTF-8 bytes (PAYLOAD_TOO_LARGE beyond), no control
 * characters other than tab and line breaks, well-formed Unicode. Stored exactly as given otherwise.
 */
export function parseBody(value: string, maxBytes: number): string {
  // Cheap bound first: a string of n UTF-16 units is at least n bytes long in UTF-8.
  const bytes = value.length > maxBytes ? value.length : Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) {
    throw codedError(ErrorCode.PAYLOAD_TOO_LARGE, `A message body may be at most ${maxBytes} bytes.`, {
      field: 'body',
      limitBytes: maxBytes,
      receivedBytes: bytes,
    });
  }
  if (value.trim().length === 0)
    throw badInput('The message body is empty.', 'body', 'non-blank Markdown', 'blank text');
  if (BODY_CONTROL.test(value)) {
    throw badInput(
      'The message body contains control characters.',
      'body',
      'text without control characters other than tab and line breaks',
      'control characters',
    );
  }
  if (!isWellFormed(value))
    throw badInput(
      'The message body is not valid Unicode.',
      'body',
      'well-formed Unicode text',
      'lone surrogates',
    );
  return value;
}

/**
 * An attachment's display name. Refused (BAD_USER_INPUT) rather than silently rewritten when it could mean a
 * path (`/`, `\`, `.`, `..`), hides its real extension (bidi controls) or carries control characters. It is
 * only ever displayed: stored files are named by attachment id.
 */
export function parseFileName(value: string): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  const expected = `a file name of 1-${FILE_NAME_MAX_BYTES} bytes without "/", "\\", control characters or leading/trailing spaces, not "." or ".."`;
  const problem =
    bytes === 0 || bytes > FILE_NAME_MAX_BYTES
      ? `${bytes} bytes`
      : /[/\\]/.test(value)
        ? 'a path'
        : value === '.' || value === '..'
          ? 'a directory reference'
          : ANY_CONTROL.test(value) || BIDI_CONTROL.test(value)
            ? 'control characters'
            : value.trim() !== value
              ? 'leading or trailing spaces'
              : !isWellFormed(value)
                ? 'malformed Unicode'
                : null;
  if (problem) throw badInput('fileName is not an acceptable file name.', 'fileName', expected, problem);
  return value;
}

/** A search query: 1-256 characters without control characters (operators are fine: they are not parsed as tsquery). */
export function parseSearchQuery(value: string): string {
  const query = value.trim();
  if (
    query.length === 0 ||
    query.length > SEARCH_MAX_LENGTH ||
    ANY_CONTROL.test(query) ||
    !isWellFormed(query)
  ) {
    throw badInput(
      `query must be 1-${SEARCH_MAX_LENGTH} printable characters.`,
      'query',
      `1-${SEARCH_MAX_LENGTH} printable characters`,
      `${query.length} characters`,
    );
  }
  return query;
}

/** Keyset position of a message in its conversation: its seq. */
const messageCursor = createCursorCodec<number>({
  kind: 'message',
  expected: 'a message cursor from this API',
  toParts: (seq) => [seq],
  fromParts: ([seq, ...rest]) => (rest.length === 0 ? cursorPart.integer(seq, 0, 2_147_483_647) : null),
});

/** Opaque cursor of a message in its conversation. */
export function encodeMessageCursor(seq: number): string {
  return messageCursor.encode(seq);
}

/** The seq inside a message cursor, or BAD_USER_INPUT. */
export function decodeMessageCursor(cursor: string, field = 'after'): number {
  return messageCursor.decode(cursor, field);
}
