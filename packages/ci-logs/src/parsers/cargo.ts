import type { RawFailure } from '../types.js';
import { splitLocation, type Emit, type ParserSpec } from './parser.js';

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
const PANIC_OLD = /^thread '[^']*' panicked at '(.*)', (\S+)$/;
const MAX_MESSAGE_LINES = 6;
const MAX_BLOCK_LINES = 40;

type Pending = RawFailure & { lines: string[]; kind: 'diagnostic' | 'test'; open: boolean };

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
      const { lines, kind, open: _open, ...failure } = current;
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
        current = {
          tool: 'cargo',
          message,
          startLine: n,
          endLine: n,
          lines: [],
          kind: 'diagnostic',
          open: true,
        };
        return;
      }
      const block = TEST_BLOCK.exec(text);
      if (block) {
        flush();
        current = {
          tool: 'cargo',
          testName: block[1]!,
          message: '',
          startLine: n,
          endLine: n,
          lines: [],
          kind: 'test',
          open: false,
        };
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
      const panicNew = PANIC_NEW.exec(text);
      const panicOld = panicNew ? null : PANIC_OLD.exec(text);
      if (panicNew) {
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
