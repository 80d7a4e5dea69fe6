import type { RawFailure } from '../types.js';
import { pendingFailure, splitLocation, type Emit, type ParserSpec } from './parser.js';

/** Spec reporter: `✖ name (1.2ms)`; the summary opens with `✖ failing tests:` and gives `test at file:l:c`. */
const SPEC_FAIL = /^(\s*)✖ (.+?) \(\d+(?:\.\d+)?m?s\)$/;
const SPEC_SUMMARY = /^✖ failing tests:$/;
const SPEC_AT = /^test at (\S+)$/;
/** TAP reporter: `not ok 1 - name`, with a YAML block (`---` … `...`) indented two more spaces. */
const TAP_NOT_OK = /^(\s*)not ok \d+ - (.*?)(?: # (?:SKIP|TODO)\b.*)?$/;
const TAP_KEY = /^\s+(location|error|failureType|type): ?(.*)$/;
/** The error class and code the spec reporter puts before a message (`AssertionError [ERR_ASSERTION]: `). */
const ERROR_PREFIX = /^[A-Za-z]*Error(?: \[[A-Z_]+\])?: /;
const MAX_MESSAGE_LINES = 6;

type Pending = RawFailure & { indent: number; lines: string[]; done: boolean };

function finish(failure: Pending): RawFailure {
  const { indent: _indent, lines, done: _done, ...rest } = failure;
  rest.message = lines.join('\n').replace(ERROR_PREFIX, '').trim() || 'failed';
  return rest;
}

function create(emit: Emit) {
  let tree: Pending[] = [];
  let summary = false;
  let current: Pending | undefined;
  let location: string | undefined;
  let tap: (Pending & { yaml: string | undefined; skip: boolean }) | undefined;
  const closeTap = () => {
    if (tap && !tap.skip) emit(finish(tap));
    tap = undefined;
  };
  const spec = (n: number, text: string) => {
    if (SPEC_SUMMARY.test(text)) {
      summary = true;
      tree = [];
      current = undefined;
      return true;
    }
    const at = summary ? SPEC_AT.exec(text) : null;
    if (at) {
      location = at[1];
      return true;
    }
    const fail = SPEC_FAIL.exec(text);
    if (fail) {
      current = pendingFailure('node-test', n, { testName: fail[2]!, indent: fail[1]!.length, done: false });
      const where = location ? splitLocation(location) : undefined;
      if (where) Object.assign(current, where);
      location = undefined;
      (summary ? emitLater : tree).push(current);
      return true;
    }
    if (!current) return false;
    const indent = text.length - text.trimStart().length;
    if (text.trim() !== '' && indent <= current.indent) {
      current = undefined;
      return false;
    }
    current.endLine = n;
    const trimmed = text.trim();
    if (trimmed.startsWith('at ') || trimmed === '{' || trimmed.endsWith(' {')) current.done = true;
    if (!current.done && trimmed !== '' && current.lines.length < MAX_MESSAGE_LINES)
      current.lines.push(trimmed);
    return true;
  };
  const emitLater: Pending[] = [];
  return {
    line({ n, text }: { n: number; text: string }) {
      const notOk = TAP_NOT_OK.exec(text);
      if (notOk) {
        closeTap();
        tap = pendingFailure('node-test', n, {
          testName: notOk[2]!,
          indent: notOk[1]!.length,
          done: false,
          yaml: undefined,
          skip: false,
        });
        return;
      }
      if (tap) {
        const indent = text.length - text.trimStart().length;
        if (text.trim() === '...' || (text.trim() !== '' && indent <= tap.indent)) {
          tap.endLine = n;
          closeTap();
        } else {
          tap.endLine = n;
          const key = TAP_KEY.exec(text);
          if (key && indent === tap.indent + 2) {
            tap.yaml = key[1];
            const value = key[2]!.replace(/^'(.*)'$/, '$1');
            if (key[1] === 'location') Object.assign(tap, splitLocation(value) ?? {});
            else if (key[1] === 'error' && value !== '|-' && value !== '|') tap.lines.push(value);
            else if (
              (key[1] === 'failureType' && value === 'subtestsFailed') ||
              (key[1] === 'type' && value === 'suite')
            )
              tap.skip = true;
          } else if (indent === tap.indent + 2) tap.yaml = undefined;
          else if (tap.yaml === 'error' && tap.lines.length < MAX_MESSAGE_LINES && text.trim() !== '')
            tap.lines.push(text.trim());
          return;
        }
      }
      spec(n, text);
    },
    end() {
      closeTap();
      // Without the summary (older node), the tree's failures with an error block under them are the tests.
      const found = summary ? emitLater : tree.filter((failure) => failure.lines.length > 0);
      for (const failure of found) emit(finish(failure));
      tree = [];
      emitLater.length = 0;
    },
  };
}

/** node's test runner (`node --test`), spec and TAP reporters. */
export const nodeTestParser: ParserSpec = {
  tool: 'node-test',
  signature: /^✖ failing tests:$|^\s*✖ .+ \(\d+(?:\.\d+)?m?s\)$|^TAP version \d+$|^\s*not ok \d+ - /,
  step: /node --test|node:test/i,
  create,
};
