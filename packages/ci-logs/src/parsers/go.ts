import type { RawFailure } from '../types.js';
import { pendingFailure, splitLocation, type Emit, type ParserSpec } from './parser.js';

/** `--- FAIL: TestName (0.00s)`, indented four spaces per subtest level. */
const TEST_FAIL = /^(\s*)--- FAIL: (\S+) \([\d.]+s\)$/;
/** The package result line that follows a package's tests: `FAIL\texample.com/pkg\t0.01s`. */
const PACKAGE = /^(?:FAIL|ok)\s+(\S+)(?:\s|$)/;
/** A compiler or vet diagnostic: `./main.go:6:14: message` (vet may prefix `vet: `). */
const DIAGNOSTIC = /^(?:vet: )?(\.{0,2}\/?[^\s:]+\.go):(\d+)(?::(\d+))?: (.+)$/;
/** Inside a test's output: `    cart_test.go:7: Total = 3, want 4`. */
const TEST_OUTPUT = /^\s+([^\s:]+\.go:\d+): (.*)$/;
/** `go test -v` announces tests: `=== RUN   TestX`, `=== CONT  TestX`; their output follows, before `--- FAIL`. */
const ANNOUNCE = /^=== (RUN|CONT|PAUSE|NAME) +(\S+)$/;
const DONE = /^\s*--- (?:PASS|SKIP): (\S+) /;
const MAX_MESSAGE_LINES = 6;
/** Tests of `go test -v` remembered while they run (parallel tests interleave); the oldest forgotten past this. */
const MAX_RUNNING = 1_000;
/** How far back an excerpt may start at a `-v` test's `=== RUN` line. */
const MAX_RUN_LINES = 30;

type Test = RawFailure & { indent: number; lines: string[] };
type Running = { start: number; lines: string[]; file?: string; line?: number };

/** Adds one line of a test's output to `into` (its first `file.go:N:` gives the place). */
function collect(into: { lines: string[]; file?: string; line?: number }, text: string): void {
  const output = TEST_OUTPUT.exec(text);
  if (output && into.line === undefined) {
    const where = splitLocation(output[1]!);
    if (where) {
      into.file = where.file;
      into.line = where.line;
    }
  }
  const trimmed = text.trim();
  if (trimmed !== '' && into.lines.length < MAX_MESSAGE_LINES)
    into.lines.push(output ? output[2]!.trim() : trimmed);
}

function create(emit: Emit) {
  let current: Test | undefined;
  const pending: Test[] = [];
  const running = new Map<string, Running>();
  let runningName: string | undefined;
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
        const name = fail[2]!;
        current = pendingFailure('go', n, { testName: name, indent: fail[1]!.length });
        // With -v the test's output came before this line, under its `=== RUN`.
        const ran = running.get(name);
        if (ran) {
          running.delete(name);
          current.lines = ran.lines;
          if (ran.file !== undefined) current.file = ran.file;
          if (ran.line !== undefined) current.line = ran.line;
          if (n - ran.start <= MAX_RUN_LINES) current.startLine = ran.start;
        }
        return;
      }
      const announce = ANNOUNCE.exec(text);
      if (announce) {
        close();
        const name = announce[2]!;
        if (announce[1] === 'RUN') {
          if (running.size >= MAX_RUNNING) running.delete(running.keys().next().value!);
          running.set(name, { start: n, lines: [] });
        }
        runningName = announce[1] === 'RUN' || announce[1] === 'CONT' ? name : undefined;
        return;
      }
      const done = DONE.exec(text);
      if (done) {
        close();
        running.delete(done[1]!);
        runningName = undefined;
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
          collect(current, text);
          return;
        }
      }
      const ran = runningName !== undefined && /^\s/.test(text) ? running.get(runningName) : undefined;
      if (ran) return collect(ran, text);
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
