import type { RawFailure } from '../types.js';
import { pendingFailure, type Emit, type ParserSpec } from './parser.js';

/**
 * Gradle cannot run on this machine (no Gradle distribution is reachable from the registries here), so this parser
 * follows Gradle's documented console output: javac's `File.java:5: error: message` under `> Task :x:compileJava
 * FAILED`, Kotlin's `e: file:///…/Main.kt:3:5 message`, test failures as `CartTest > sumsPrices() FAILED` with the
 * exception indented under them, and the `* What went wrong:` block when nothing more specific was printed.
 */
const JAVAC = /^(\S[^:]*\.java):(\d+): error: (.*)$/;
const KOTLIN = /^e: (?:file:\/\/)?(\S[^:]*\.kts?):(\d+):(\d+) (.*)$/;
const KOTLIN_OLD = /^e: (\S[^:]*\.kts?): \((\d+), (\d+)\): (.*)$/;
const TEST = /^(\S.*?) > (.+) FAILED$/;
const WRONG = /^\* What went wrong:$/;
const AT = /^\s+at (?:[\w$.]+\()?([\w$]+\.(?:java|kt|groovy|scala)):(\d+)\)?$/;
const MAX_MESSAGE_LINES = 6;

type Pending = RawFailure & { lines: string[] };

function create(emit: Emit) {
  let test: Pending | undefined;
  let wrong: Pending | undefined;
  let collectingWrong = false;
  let emitted = 0;
  const send = (failure: RawFailure) => {
    emitted++;
    emit(failure);
  };
  const close = () => {
    if (test) {
      const { lines, ...failure } = test;
      failure.message = lines.join('\n') || 'test failed';
      send(failure);
    }
    test = undefined;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      const javac = JAVAC.exec(text);
      const kotlin = javac ? null : (KOTLIN.exec(text) ?? KOTLIN_OLD.exec(text));
      if (javac || kotlin) {
        close();
        const failure: RawFailure = { tool: 'gradle', startLine: n, endLine: n, message: '' };
        if (javac) Object.assign(failure, { file: javac[1], line: Number(javac[2]), message: javac[3] });
        else if (kotlin)
          Object.assign(failure, {
            file: kotlin[1],
            line: Number(kotlin[2]),
            column: Number(kotlin[3]),
            message: kotlin[4],
          });
        send(failure);
        return;
      }
      const failed = text.endsWith(' FAILED') ? TEST.exec(text) : null;
      if (failed && !text.startsWith('> Task ')) {
        close();
        test = pendingFailure('gradle', n, { testName: `${failed[1]} > ${failed[2]}` });
        return;
      }
      if (WRONG.test(text)) {
        close();
        collectingWrong = true;
        wrong = pendingFailure('gradle', n, {});
        return;
      }
      if (collectingWrong && wrong) {
        if (text.trim() === '' || text.startsWith('* ')) collectingWrong = false;
        else if (wrong.lines.length < MAX_MESSAGE_LINES) {
          wrong.lines.push(text.replace(/^> /, '').trim());
          wrong.endLine = n;
        }
        return;
      }
      if (!test) return;
      if (!/^\s/.test(text) || text.trim() === '') return close();
      test.endLine = n;
      const at = AT.exec(text);
      if (at) {
        if (test.line === undefined) Object.assign(test, { file: at[1], line: Number(at[2]) });
        return;
      }
      // `    org.opentest4j.AssertionFailedError at CartTest.java:9`: the exception and where it was thrown.
      const inline = /^(.*) at ([\w$]+\.(?:java|kt|groovy|scala)):(\d+)$/.exec(text.trim());
      if (inline) {
        if (test.line === undefined) Object.assign(test, { file: inline[2], line: Number(inline[3]) });
        test.lines.push(inline[1]!);
      } else if (test.lines.length < MAX_MESSAGE_LINES) test.lines.push(text.trim());
    },
    end() {
      close();
      if (emitted === 0 && wrong && wrong.lines.length > 0) {
        const { lines, ...failure } = wrong;
        send({ ...failure, message: lines.join('\n') });
      }
      wrong = undefined;
      emitted = 0;
    },
  };
}

/** Gradle (documented format): javac and Kotlin compiler errors, test failures, `* What went wrong:`. */
export const gradleParser: ParserSpec = {
  tool: 'gradle',
  signature:
    /^> Task :\S|^FAILURE: Build failed with an exception\.$|^BUILD FAILED in |^\* What went wrong:$/,
  step: /gradle/i,
  create,
};
