import type { LogLine, RawFailure, Tool } from '../types.js';

/** Receives the failures a parser finds. */
export type Emit = (failure: RawFailure) => void;

/** One tool's parser over one step's lines: fed every line in order, then told the step ended. */
export interface LineParser {
  line(line: LogLine): void;
  end(): void;
}

/**
 * A tool the detector can recognise. `signature` is tested on lines (linear: anchored or literal-led) until the
 * tool is recognised; `step` is tested on step names (`Run npm test`). Once recognised, a parser is created for the
 * rest of the step and replayed the step's recent lines, so the lines before the signature are not lost.
 */
export interface ParserSpec {
  tool: Tool;
  signature: RegExp;
  step?: RegExp;
  create(emit: Emit): LineParser;
}

/**
 * A failure of `tool` a parser has just found on line `n` (its first and, so far, last line), with no message
 * lines collected yet and an empty message unless `fields` gives one; `fields` adds the parser's own state.
 */
export function pendingFailure<const T extends object>(
  tool: Tool,
  n: number,
  fields: T,
): RawFailure & { lines: string[] } & T {
  return { tool, message: '', startLine: n, endLine: n, lines: [], ...fields };
}

/** `file:line[:column]` at the end of `text` (the last two numeric `:` fields), linear and regex-free. */
export function splitLocation(text: string): { file: string; line: number; column?: number } | undefined {
  const last = text.lastIndexOf(':');
  if (last <= 0) return undefined;
  const tail = Number(text.slice(last + 1));
  if (!isPositiveInt(tail)) return undefined;
  const before = text.lastIndexOf(':', last - 1);
  if (before > 0) {
    const middle = Number(text.slice(before + 1, last));
    if (isPositiveInt(middle)) return { file: text.slice(0, before), line: middle, column: tail };
  }
  return { file: text.slice(0, last), line: tail };
}

/** The location of a stack frame `at fn (file:line:col)` or `at file:line:col`; undefined for other lines. */
export function stackFrameLocation(
  line: string,
): { file: string; line: number; column?: number } | undefined {
  let frame = line.trim();
  if (!frame.startsWith('at ')) return undefined;
  frame = frame.slice(3);
  if (frame.endsWith(')')) {
    const open = frame.lastIndexOf('(');
    if (open === -1) return undefined;
    frame = frame.slice(open + 1, -1);
  }
  return splitLocation(frame);
}

export function isPositiveInt(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** True for a frame inside installed or runtime code (not the project's). */
export function isLibraryFrame(file: string): boolean {
  return file.startsWith('node:') || file.includes('/node_modules/') || file.includes('internal/');
}
