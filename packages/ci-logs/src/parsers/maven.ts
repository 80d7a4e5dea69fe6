import type { RawFailure } from '../types.js';
import { pendingFailure, type Emit, type ParserSpec } from './parser.js';

/** `[ERROR] /path/Cart.java:[5,17] incompatible types: …` (maven-compiler-plugin; printed twice by Maven). */
const COMPILE = /^\[ERROR\] (\S.*?\.(?:java|kt|scala|groovy)):\[(\d+),(\d+)\] (.*)$/;
/** Surefire 3: `[ERROR] com.example.CartTest.sumsPrices -- Time elapsed: 0.017 s <<< FAILURE!` (split by hand). */
const SUREFIRE_ELAPSED = ' -- Time elapsed: ';
/** Surefire 2: `sumsPrices(com.example.CartTest)  Time elapsed: 0.023 sec  <<< FAILURE!`. */
const SUREFIRE_LEGACY = /^([\w$]+)\(([\w.$]+)\)\s+Time elapsed: [^<]*<<< (?:FAILURE|ERROR)!$/;
const FRAME = /^\s+at ([\w$.]+)\.([\w$<>]+)\(([\w$]+\.\w+):(\d+)\)$/;
const GOAL = /^\[ERROR\] Failed to execute goal (.*)$/;
const MAX_MESSAGE_LINES = 6;
const MAX_BLOCK_LINES = 120;

type Test = RawFailure & { lines: string[]; className: string; frames: boolean };

function create(emit: Emit) {
  let test: Test | undefined;
  let goal: RawFailure | undefined;
  let emitted = 0;
  const seen = new Set<string>();
  const send = (failure: RawFailure) => {
    emitted++;
    emit(failure);
  };
  const close = () => {
    if (test) {
      const { lines, className: _className, frames: _frames, ...failure } = test;
      failure.message = lines.join('\n') || 'test failed';
      send(failure);
    }
    test = undefined;
  };
  const startTest = (n: number, className: string, method: string) => {
    close();
    test = pendingFailure('maven', n, { testName: `${className}.${method}`, className, frames: false });
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      const compile = COMPILE.exec(text);
      if (compile) {
        close();
        const key = `${compile[1]}:${compile[2]}:${compile[3]}:${compile[4]}`;
        if (seen.has(key)) return;
        seen.add(key);
        send({
          tool: 'maven',
          file: compile[1]!,
          line: Number(compile[2]),
          column: Number(compile[3]),
          message: compile[4]!,
          startLine: n,
          endLine: n,
        });
        return;
      }
      const elapsed =
        text.startsWith('[ERROR] ') && /<<< (?:FAILURE|ERROR)!$/.test(text)
          ? text.indexOf(SUREFIRE_ELAPSED)
          : -1;
      if (elapsed > 8 && !text.startsWith('[ERROR] Tests run: ')) {
        const id = text.slice(8, elapsed);
        const dot = id.lastIndexOf('.');
        return startTest(n, dot > 0 ? id.slice(0, dot) : id, dot > 0 ? id.slice(dot + 1) : id);
      }
      const legacy = SUREFIRE_LEGACY.exec(text);
      if (legacy) return startTest(n, legacy[2]!, legacy[1]!);
      const failedGoal = GOAL.exec(text);
      if (failedGoal) {
        close();
        goal ??= {
          tool: 'maven',
          message: failedGoal[1]!.replace(/ -> \[Help \d+\]$/, ''),
          startLine: n,
          endLine: n,
        };
        return;
      }
      if (!test) return;
      if (text.trim() === '' || text.startsWith('[') || n - test.startLine > MAX_BLOCK_LINES) return close();
      test.endLine = n;
      const frame = FRAME.exec(text);
      if (frame) {
        test.frames = true;
        if (test.line === undefined && frame[1] === test.className) {
          test.file = frame[3]!;
          test.line = Number(frame[4]);
        }
      } else if (!test.frames && test.lines.length < MAX_MESSAGE_LINES) test.lines.push(text.trim());
    },
    end() {
      close();
      // A failed goal with nothing more specific (dependency resolution, a plugin's own failure).
      if (emitted === 0 && goal) send(goal);
      goal = undefined;
      emitted = 0;
    },
  };
}

/** Maven: compiler errors and Surefire test failures (Surefire 3 and the older 2.x layout). */
export const mavenParser: ParserSpec = {
  tool: 'maven',
  signature: /^\[(?:ERROR|INFO)\] |^ T E S T S$|^Tests run: \d+/,
  step: /\bmvn\b|maven/i,
  create,
};
