import type { RawFailure } from '../types.js';
import { pendingFailure, splitLocation, type Emit, type ParserSpec } from './parser.js';

/** A rustc diagnostic header: `error[E0308]: mismatched types` (warnings do not fail a build). */
const DIAGNOSTIC = /^error(?:\[(E\d{4})\])?: (.+)$/;
/** ` --> src/main.rs:2:18` under a diagnostic header. */
const ARROW = /^\s*--> (\S.*)$/;
/** cargo's own summary errors, not diagnostics of the code. */
const SUMMARY =
  /^(?:could not compile|aborting due to|test failed, to rerun|build failed|\d+ (?:previous )?errors?)\b/;
/** `---- tests::sums stdout ----`: a failing test's captured output. */
const TEST_BLOCK = /^---- (\S+) stdout ----$/;
/** Since Rust 1.73: `thread 'x' panicked at src/lib.rs:10:9:` (message on the next lines); before: inline. */
const PANIC_NEW = /^thread '[^']*'(?: \(\d+\))? panicked at (\S+):$/;
const PANIC_OLD = /^thread '[^']*' panicked at '(.*)', (\S+:\d+:\d+)$/;
/** Before 1.73 a multi-line message (`assert_eq!`'s left/right) ends on a later line: `…', src/lib.rs:10:9`. */
const PANIC_OLD_START = /^thread '[^']*' panicked at '(.*)$/;
const PANIC_OLD_END = /^(.*)', (\S+:\d+:\d+)$/;
const MAX_MESSAGE_LINES = 6;
const MAX_BLOCK_LINES = 40;

type Pending = RawFailure & { lines: string[]; kind: 'diagnostic' | 'test'; open: boolean; quoted?: boolean };

function locate(failure: RawFailure, location: string): void {
  const where = splitLocation(location.trim());
  if (!where) return;
  failure.file = where.file;
  failure.line = where.line;
  if (where.column !== undefined) failure.column = where.column;
}

function create(emit: Emit) {
  let current: Pending | undefined;
  const flush = () => {
    if (current) {
      const { lines, kind, open: _open, quoted: _quoted, ...failure } = current;
      if (kind === 'test') failure.message = lines.join('\n') || 'test failed';
      if (kind === 'test' || failure.file || !SUMMARY.test(failure.message)) emit(failure);
    }
    current = undefined;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      const diagnostic = DIAGNOSTIC.exec(text);
      if (diagnostic) {
        flush();
        const message = diagnostic[1] ? `${diagnostic[1]}: ${diagnostic[2]}` : diagnostic[2]!;
        current = pendingFailure('cargo', n, { message, kind: 'diagnostic', open: true });
        return;
      }
      const block = TEST_BLOCK.exec(text);
      if (block) {
        flush();
        current = pendingFailure('cargo', n, { testName: block[1]!, kind: 'test', open: false });
        return;
      }
      if (!current) return;
      if (n - current.startLine > MAX_BLOCK_LINES || /^failures:$|^test result: /.test(text)) return flush();
      if (current.kind === 'diagnostic') {
        if (text.trim() === '') return flush();
        current.endLine = n;
        const arrow = ARROW.exec(text);
        if (arrow && current.file === undefined) locate(current, arrow[1]!);
        return;
      }
      current.endLine = n;
      if (current.quoted) {
        // Inside an old-format panic message, up to its closing `', file:line:col`.
        const end = PANIC_OLD_END.exec(text);
        if (current.lines.length < MAX_MESSAGE_LINES) current.lines.push((end ? end[1]! : text).trim());
        if (end) {
          locate(current, end[2]!);
          current.quoted = false;
        }
        return;
      }
      const panicNew = PANIC_NEW.exec(text);
      const panicOld = panicNew ? null : PANIC_OLD.exec(text);
      const panicOldStart = panicNew || panicOld ? null : PANIC_OLD_START.exec(text);
      if (panicOldStart) {
        current.lines.push(panicOldStart[1]!);
        current.quoted = true;
      } else if (panicNew) {
        locate(current, panicNew[1]!);
        current.open = true;
      } else if (panicOld) {
        locate(current, panicOld[2]!);
        current.lines.push(panicOld[1]!);
      } else if (current.open) {
        if (text.trim() === '' || /^(?:stack backtrace:|note: )/.test(text)) current.open = false;
        else if (current.lines.length < MAX_MESSAGE_LINES) current.lines.push(text.trim());
      }
    },
    end: flush,
  };
}

/** cargo build/check/clippy errors (rustc diagnostics) and `cargo test` failures. */
export const cargoParser: ParserSpec = {
  tool: 'cargo',
  signature: /^error(?:\[E\d{4}\])?: |^---- \S+ stdout ----$|^test result: FAILED|^\s+Compiling \S+ v\d/,
  step: /\bcargo\b|clippy|rust/i,
  create,
};
