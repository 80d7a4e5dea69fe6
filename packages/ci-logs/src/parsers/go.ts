import type { RawFailure } from '../types.js';
import { splitLocation, type Emit, type ParserSpec } from './parser.js';

/** `--- FAIL: TestName (0.00s)`, indented four spaces per subtest level. */
const TEST_FAIL = /^(\s*)--- FAIL: (\S+) \([\d.]+s\)$/;
/** The package result line that follows a package's tests: `FAIL\texample.com/pkg\t0.01s`. */
const PACKAGE = /^(?:FAIL|ok)\s+(\S+)(?:\s|$)/;
/** A compiler or vet diagnostic: `./main.go:6:14: message` (vet may prefix `vet: `). */
const DIAGNOSTIC = /^(?:vet: )?(\.{0,2}\/?[^\s:]+\.go):(\d+)(?::(\d+))?: (.+)$/;
/** Inside a test's output: `    cart_test.go:7: Total = 3, want 4`. */
const TEST_OUTPUT = /^\s+([^\s:]+\.go:\d+): (.*)$/;
const MAX_MESSAGE_LINES = 6;

type Test = RawFailure & { indent: number; lines: string[] };

function create(emit: Emit) {
  let current: Test | undefined;
  const pending: Test[] = [];
  const close = () => {
    if (current && current.lines.length > 0) pending.push(current);
    current = undefined;
  };
  const flush = (pkg?: string) => {
    close();
    for (const { indent: _indent, lines, ...failure } of pending) {
      if (pkg && failure.testName) failure.testName = `${pkg}.${failure.testName}`;
      failure.message = lines.join('\n');
      emit(failure);
    }
    pending.length = 0;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      const fail = TEST_FAIL.exec(text);
      if (fail) {
        close();
        current = {
          tool: 'go',
          testName: fail[2]!,
          message: '',
          startLine: n,
          endLine: n,
          indent: fail[1]!.length,
          lines: [],
        };
        return;
      }
      const pkg = PACKAGE.exec(text);
      if (pkg) return flush(pkg[1]);
      if (current) {
        const indent = text.length - text.trimStart().length;
        const trimmed = text.trim();
        // A parent test that failed only through its subtests prints nothing of its own: it is skipped.
        if (
          trimmed === 'FAIL' ||
          trimmed.startsWith('=== ') ||
          (trimmed !== '' && indent <= current.indent && !trimmed.startsWith('panic:'))
        ) {
          close();
        } else {
          current.endLine = n;
          const output = TEST_OUTPUT.exec(text);
          if (output && current.line === undefined) {
            const where = splitLocation(output[1]!);
            if (where) {
              current.file = where.file;
              current.line = where.line;
            }
          }
          if (trimmed !== '' && current.lines.length < MAX_MESSAGE_LINES)
            current.lines.push(output ? output[2]!.trim() : trimmed);
          return;
        }
      }
      const diagnostic = DIAGNOSTIC.exec(text);
      if (diagnostic) {
        const failure: RawFailure = {
          tool: 'go',
          file: diagnostic[1]!,
          line: Number(diagnostic[2]),
          message: diagnostic[4]!,
          startLine: n,
          endLine: n,
        };
        if (diagnostic[3]) failure.column = Number(diagnostic[3]);
        emit(failure);
      }
    },
    end: () => flush(),
  };
}

/** `go test` (failing tests, panics), `go build` and `go vet` diagnostics. */
export const goParser: ParserSpec = {
  tool: 'go',
  signature: /^\s*--- FAIL: |^FAIL\t|^(?:vet: )?\.{0,2}\/?[^\s:]+\.go:\d+:(?:\d+:)? /,
  step: /\bgo (?:test|build|vet)\b|golangci/i,
  create,
};
