import { createHash } from 'node:crypto';
import type { Tool } from './types.js';

/**
 * Fingerprints: the same failure recognised across runs and machines (README "Fingerprints"). The message is
 * normalised so what changes from run to run (numbers, hex, UUIDs, temp paths, timestamps, quoted variable data)
 * does not change the fingerprint; the location is the repository-relative file and the test name, never the line
 * (lines move as the code around a failure changes). Every pattern is linear in its input.
 */

/** Roots of checkouts and temp directories, with the one or two folder levels that vary; removed from paths. */
const WORKSPACE_ROOTS = [
  /^(?:file:\/\/)?\/home\/runner\/work\/[^/]+\/[^/]+\//,
  /^(?:file:\/\/)?\/Users\/runner\/work\/[^/]+\/[^/]+\//,
  /^(?:file:\/\/)?\/__w\/[^/]+\/[^/]+\//,
  /^(?:file:\/\/\/)?[A-Za-z]:\/a\/[^/]+\/[^/]+\//,
  /^(?:file:\/\/)?\/(?:private\/)?var\/folders\/[^/]+\/[^/]+\/T\/[^/]+\//,
  /^(?:file:\/\/)?\/(?:tmp|var\/tmp)\/[^/]+\//,
];

/** A path as printed by a tool, made repository-relative: slashes forward, checkout/temp root and `./` removed. */
export function relativeFile(path: string): string {
  let file = path.trim().replace(/\\/g, '/');
  for (const root of WORKSPACE_ROOTS) {
    const match = root.exec(file);
    if (match) {
      file = file.slice(match[0].length);
      break;
    }
  }
  if (file.startsWith('file://')) file = file.slice('file://'.length);
  while (file.startsWith('./')) file = file.slice(2);
  return file;
}

const TEMP_PATH =
  /(?:file:\/\/)?(?:\/tmp\/|\/var\/tmp\/|\/private\/var\/folders\/|\/var\/folders\/|\/home\/runner\/work\/_temp\/|[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp\\)[^\s'"`()[\]<>,;]*/g;
const WORKSPACE_PATH =
  /(?:file:\/\/)?(?:\/home\/runner\/work|\/Users\/runner\/work|\/__w)\/[^/\s]+\/[^/\s]+\//g;
const TIMESTAMP =
  /\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?\b|\b\d\d:\d\d:\d\d(?:\.\d+)?\b/g;
const UUID = /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g;
const HEX_PREFIXED = /\b0x[0-9a-fA-F]+\b/g;
const HEX_WORD = /\b[0-9a-fA-F]{7,}\b/g;
const QUOTED = /'[^'\n]{0,200}'|"[^"\n]{0,200}"|`[^`\n]{0,200}`/g;
const NUMBER = /(?<![A-Za-z0-9_<])\d+(?:[.,]\d+)*/g;
/** Quoted strings longer than this are variable data (a dumped value), not a name. */
const LONG_QUOTE = 80;
/** Characters of a message that count for its fingerprint. */
const FINGERPRINT_CHARS = 1_000;

function replaceVolatile(text: string): string {
  return text
    .replace(WORKSPACE_PATH, '')
    .replace(TEMP_PATH, '<tmp>')
    .replace(UUID, '<uuid>')
    .replace(TIMESTAMP, '<time>')
    .replace(HEX_PREFIXED, '<hex>')
    .replace(HEX_WORD, (word) => (/\d/.test(word) && /[a-fA-F]/.test(word) ? '<hex>' : word));
}

/**
 * The message as fingerprinted: volatile parts replaced by placeholders (`<tmp>`, `<uuid>`, `<time>`, `<hex>`,
 * `<str>` for a quoted string holding a number or over 80 characters, `<n>` for other numbers not glued to a
 * word's letters, so `TS2345` and `E0308` stay), whitespace collapsed, a final full stop dropped (formatters differ).
 */
export function normaliseMessage(message: string): string {
  return replaceVolatile(message.slice(0, FINGERPRINT_CHARS))
    .replace(QUOTED, (quoted) => {
      const body = quoted.slice(1, -1);
      return /\d|<(?:tmp|uuid|time|hex)>/.test(body) || body.length > LONG_QUOTE
        ? `${quoted[0]}<str>${quoted[0]}`
        : quoted;
    })
    .replace(NUMBER, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '');
}

/** A test name as fingerprinted: only temp paths, UUIDs, timestamps and hex replaced (numbers are part of names). */
export function normaliseTestName(name: string): string {
  return replaceVolatile(name).replace(/\s+/g, ' ').trim();
}

/** The fingerprint of a failure: sha256 of tool, file, test name and normalised message; 32 hex characters. */
export function fingerprintOf(failure: {
  tool: Tool;
  file?: string;
  testName?: string;
  message: string;
}): string {
  return createHash('sha256')
    .update(
      [
        failure.tool,
        failure.file ? relativeFile(failure.file) : '',
        failure.testName ? normaliseTestName(failure.testName) : '',
        normaliseMessage(failure.message),
      ].join('\n'),
    )
    .digest('hex')
    .slice(0, 32);
}
