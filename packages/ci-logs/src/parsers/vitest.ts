import type { RawFailure } from '../types.js';
import { splitLocation, type Emit, type ParserSpec } from './parser.js';

/**
 * ` FAIL  src/a.test.ts > suite > test` (the default reporter). A project's name comes first: `|unit| ` without
 * colours, ` unit  ` (a coloured label, three spaces after FAIL once the colours are removed) with them.
 */
function failHeader(text: string): { file: string; testName?: string } | undefined {
  if (!text.startsWith(' FAIL ')) return undefined;
  let rest = text.slice(' FAIL '.length);
  const labelled = rest.startsWith('  ');
  rest = rest.trimStart();
  if (rest.startsWith('|')) {
    const close = rest.indexOf('| ', 1);
    if (close !== -1) rest = rest.slice(close + 2).trimStart();
  } else if (labelled) {
    const gap = rest.indexOf('  ');
    if (gap !== -1) rest = rest.slice(gap).trimStart();
  }
  if (rest === '') return undefined;
  const separator = rest.indexOf(' > ');
  // A whole file failing is `FAIL  file [ file ]`; without the brackets it is Jest's coloured `FAIL  file`.
  if (separator === -1) return rest.endsWith(']') ? { file: rest.replace(/ \[.*\]$/, '').trim() } : undefined;
  return { file: rest.slice(0, separator).trim(), testName: rest.slice(separator + 3) };
}
/** ` ❯ src/a.test.ts:3:19` or `  at src/a.test.ts:3:19`: where the error was thrown. */
const LOCATION = /^\s+(?:❯|at) (\S+:\d+:\d+)\)?$/;
const SEPARATOR = /^⎯{3,}/;
const SUMMARY = /^\s+(?:Test Files|Tests|Errors)\s+\d/;
/** Message lines kept before the code frame or the location. */
const MAX_MESSAGE_LINES = 6;

interface Header {
  file: string;
  testName?: string;
  n: number;
}

function create(emit: Emit) {
  let headers: Header[] = [];
  let message: string[] = [];
  let location: { file: string; line: number; column?: number } | undefined;
  let endLine = 0;
  const flush = () => {
    for (const header of headers) {
      const failure: RawFailure = {
        tool: 'vitest',
        file: location?.file ?? header.file,
        message: message.join('\n') || 'failed',
        startLine: header.n,
        endLine: Math.max(endLine, header.n),
      };
      if (location) {
        failure.line = location.line;
        if (location.column !== undefined) failure.column = location.column;
      }
      if (header.testName) failure.testName = header.testName;
      emit(failure);
    }
    headers = [];
    message = [];
    location = undefined;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      const fail = failHeader(text);
      if (fail) {
        // Consecutive FAIL lines share the error printed after them.
        if (message.length > 0 || location) flush();
        // `FAIL  file [ file ]` is a whole file failing (an import or syntax error), not one test.
        const header: Header = { file: fail.file, n };
        if (fail.testName) header.testName = fail.testName.replace(/\s+\d+m?s$/, '').trim();
        headers.push(header);
        endLine = n;
        return;
      }
      if (headers.length === 0) return;
      if (SEPARATOR.test(text) || SUMMARY.test(text)) return flush();
      endLine = n;
      const where = LOCATION.exec(text);
      if (where) {
        location ??= splitLocation(where[1]!);
        return;
      }
      const trimmed = text.trim();
      if (!location && trimmed !== '' && message.length < MAX_MESSAGE_LINES && !/^\d+\|/.test(trimmed)) {
        message.push(trimmed);
      }
    },
    end: flush,
  };
}

/** Vitest's default (and verbose) reporter. */
export const vitestParser: ParserSpec = {
  tool: 'vitest',
  signature: /^ FAIL {1,2}\S|^ RUN {1,2}v\d|⎯ Failed Tests \d+ ⎯/,
  step: /vitest/i,
  create,
};
