import type { RawFailure } from '../types.js';
import { pendingFailure, isLibraryFrame, stackFrameLocation, type Emit, type ParserSpec } from './parser.js';

/** `FAIL src/a.test.js`; coloured (as on a GitHub runner) the label is padded: ` FAIL  src/a.test.js`. */
const FILE = /^ ?FAIL {1,2}(\S.*)$/;
/** `  ● suite › test` — the block of one failing test (or `Test suite failed to run`). */
const TEST = /^ {2}● (.+)$/;
const END = /^ ?(?:PASS|FAIL) {1,2}\S|^Test Suites: |^Summary of all failing tests$/;
const CODE_FRAME = /^\s*>?\s*\d+ \|/;
const MAX_MESSAGE_LINES = 8;
const MAX_BLOCK_LINES = 80;

function create(emit: Emit) {
  let file: string | undefined;
  let current: (RawFailure & { lines: string[]; framed: boolean }) | undefined;
  let skipping = false;
  const flush = () => {
    if (current) {
      const { lines, framed: _framed, ...failure } = current;
      failure.message = lines.join('\n') || 'failed';
      emit(failure);
    }
    current = undefined;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      // The summary repeats every block already parsed.
      if (text === 'Summary of all failing tests') {
        flush();
        skipping = true;
        return;
      }
      if (skipping) {
        if (text.startsWith('Test Suites: ')) skipping = false;
        return;
      }
      const test = TEST.exec(text);
      if (test) {
        flush();
        const name = test[1]!.trim();
        current = pendingFailure('jest', n, { framed: false });
        if (file) current.file = file;
        if (name !== 'Test suite failed to run') current.testName = name.replace(/ › /g, ' > ');
        return;
      }
      if (END.test(text)) {
        flush();
        const header = FILE.exec(text);
        file = header ? header[1]!.trim() : undefined;
        return;
      }
      if (!current) return;
      if (n - current.startLine > MAX_BLOCK_LINES) return flush();
      current.endLine = n;
      const frame = stackFrameLocation(text);
      if (frame) {
        if (current.line === undefined && !isLibraryFrame(frame.file)) {
          current.line = frame.line;
          if (frame.column !== undefined) current.column = frame.column;
        }
        return;
      }
      if (CODE_FRAME.test(text)) current.framed = true;
      const trimmed = text.trim();
      if (!current.framed && trimmed !== '' && current.lines.length < MAX_MESSAGE_LINES)
        current.lines.push(trimmed);
    },
    end: flush,
  };
}

/** Jest's default reporter. */
export const jestParser: ParserSpec = {
  tool: 'jest',
  signature: /^ ?(?:FAIL|PASS) {1,2}\S|^Tests: {7}\d|^ {2}● /,
  step: /\bjest\b/i,
  create,
};
