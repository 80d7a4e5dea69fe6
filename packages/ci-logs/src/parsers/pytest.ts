import type { RawFailure } from '../types.js';
import { pendingFailure, type Emit, type ParserSpec } from './parser.js';

/** The text between runs of `fence` (`=== FAILURES ===`), trimmed by hand: a regex here would backtrack. */
function fenced(text: string, fence: string): string | undefined {
  if (!text.startsWith(fence.repeat(3)) || !text.endsWith(fence.repeat(3))) return undefined;
  let start = 0;
  let end = text.length;
  while (start < end && text[start] === fence) start++;
  while (end > start && text[end - 1] === fence) end--;
  return text.slice(start, end).trim();
}
/** `tests/test_x.py:5: AssertionError` or `tests/x.py:1: in <module>`: a frame of the traceback. */
const FRAME = /^([^\s:][^:]*\.py):(\d+):(?: (.*))?$/;
/** Short summary: `FAILED tests/x.py::Class::test - message` / `ERROR tests/x.py`. */
const SHORT = /^(FAILED|ERROR) ([^\s:]+\.py)(?:::(\S+))?(?: - (.*))?$/;
const MAX_MESSAGE_LINES = 6;
const MAX_BLOCK_LINES = 200;

type Block = RawFailure & { lines: string[]; key: string };

function create(emit: Emit) {
  let inFailures = false;
  let block: Block | undefined;
  const blocks: Block[] = [];
  const close = () => {
    if (block) blocks.push(block);
    block = undefined;
  };
  const flushAll = (summary: Map<string, RawFailure>) => {
    close();
    for (const { lines, key, ...failure } of blocks) {
      const short = summary.get(key);
      if (!failure.file && short?.file) failure.file = short.file;
      failure.message = lines.join('\n') || short?.message || 'failed';
      summary.delete(key);
      emit(failure);
    }
    for (const failure of summary.values()) emit(failure);
    blocks.length = 0;
    summary.clear();
  };
  const summary = new Map<string, RawFailure>();
  return {
    line({ n, text }: { n: number; text: string }) {
      const title = fenced(text, '=');
      if (title !== undefined) {
        close();
        inFailures = title === 'FAILURES' || title === 'ERRORS';
        // The closing line (`2 failed, 1 passed in 0.6s`) ends the session.
        if (/ in [\d.]+s(?: \([^)]*\))?$/.test(title) && /\b(?:passed|failed|error)/.test(title))
          flushAll(summary);
        return;
      }
      const short = SHORT.exec(text);
      if (short) {
        const file = short[2]!;
        const testName = short[3]?.replace(/::/g, '.');
        const failure: RawFailure = {
          tool: 'pytest',
          file,
          message: short[4] ?? short[1]!,
          startLine: n,
          endLine: n,
        };
        if (testName) failure.testName = testName;
        summary.set(testName ?? file, failure);
        return;
      }
      if (!inFailures) return;
      const name = fenced(text, '_');
      if (name) {
        close();
        const collecting = /^ERROR collecting (\S+)$/.exec(name);
        block = pendingFailure('pytest', n, { key: collecting ? collecting[1]! : name });
        if (collecting) block.file = collecting[1]!;
        else block.testName = name;
        return;
      }
      if (!block || n - block.startLine > MAX_BLOCK_LINES) return;
      block.endLine = n;
      if (text.startsWith('E ') && block.lines.length < MAX_MESSAGE_LINES)
        block.lines.push(text.slice(1).trim());
      const frame = FRAME.exec(text);
      if (frame) {
        // The last frame printed in the project is where it failed (installed packages' frames only as a last resort).
        const library = /site-packages|\/lib\/python\d/.test(frame[1]!);
        if (!library || block.line === undefined) {
          block.file = frame[1]!;
          block.line = Number(frame[2]);
        }
      }
    },
    end() {
      flushAll(summary);
    },
  };
}

/** pytest's default output (`--tb=auto|long|short`) and its short test summary. */
export const pytestParser: ParserSpec = {
  tool: 'pytest',
  signature:
    /^={3,} (?:FAILURES|ERRORS|test session starts|short test summary info) ={3,}$|^(?:FAILED|ERROR) \S+\.py/,
  step: /pytest|\btox\b|\bnox\b/i,
  create,
};
