import type { RawFailure } from '../types.js';
import { splitLocation, type Emit, type ParserSpec } from './parser.js';

/** ` FAIL  src/a.test.ts > suite > test` (the default reporter; the project name may come first in brackets). */
const FAIL = /^ FAIL {1,2}(?:\|[^|]*\| )?(\S[^>]*?)(?: > (.*))?$/;
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
      const fail = FAIL.exec(text);
      if (fail) {
        // Consecutive FAIL lines share the error printed after them.
        if (message.length > 0 || location) flush();
        const file = fail[1]!.trim();
        const rest = fail[2];
        // `FAIL  file [ file ]` is a whole file failing (an import or syntax error), not one test.
        const header: Header = { file: file.replace(/ \[.*\]$/, ''), n };
        if (rest) header.testName = rest.replace(/\s+\d+m?s$/, '').trim();
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
