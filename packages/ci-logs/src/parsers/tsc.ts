import type { RawFailure } from '../types.js';
import type { Emit, ParserSpec } from './parser.js';

/** Plain: `src/a.ts(4,37): error TS2345: message`; the class before `(` excludes `(`, so no backtracking. */
const PLAIN = /^([^\s(][^(]*)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/;
/** `--pretty`: `src/a.ts:4:37 - error TS2345: message` (ANSI already removed). */
const PRETTY = /^([^\s:][^:]*):(\d+):(\d+) - (error|warning) (TS\d+): (.*)$/;
/** Without a file: `error TS5023: Unknown compiler option 'x'.` */
const GLOBAL = /^(error) (TS\d+): (.*)$/;
const SUMMARY = /^Found \d+ errors?\b/;
/** Lines of a pretty error's code frame kept after its header. */
const MAX_BLOCK_LINES = 12;

/**
 * A monorepo task runner's line prefix (turbo's `@scope/app:typecheck: `, pnpm's `packages/app typecheck: `), taken
 * off so the error behind it parses: everything up to the first `: ` when a tsc error follows it.
 */
function withoutTaskPrefix(text: string): string {
  const colon = text.indexOf(': ');
  return colon > 0 && text.includes('): error TS', colon) ? text.slice(colon + 2) : text;
}

function create(emit: Emit) {
  let pending: RawFailure | undefined;
  let blanks = 0;
  const flush = () => {
    if (pending) emit(pending);
    pending = undefined;
  };
  return {
    line({ n, text }: { n: number; text: string }) {
      let match = PLAIN.exec(text) ?? PRETTY.exec(text);
      // A file name does not hold `: `; one that seems to is a task runner's prefix before the real file.
      if (match?.[1]?.includes(': ')) match = PLAIN.exec(withoutTaskPrefix(text));
      if (match) {
        flush();
        pending = {
          tool: 'tsc',
          file: match[1]!,
          line: Number(match[2]),
          column: Number(match[3]),
          severity: match[4] === 'warning' ? 'warning' : 'error',
          message: `${match[5]}: ${match[6]}`,
          startLine: n,
          endLine: n,
        };
        blanks = 0;
        return;
      }
      const global = GLOBAL.exec(text);
      if (global) {
        flush();
        pending = { tool: 'tsc', message: `${global[2]}: ${global[3]}`, startLine: n, endLine: n };
        return;
      }
      if (!pending) return;
      if (SUMMARY.test(text) || n - pending.startLine > MAX_BLOCK_LINES) return flush();
      if (text.trim() === '') {
        if (++blanks >= 2) flush();
        return;
      }
      if (blanks === 0) {
        // Plain output continues a message on lines indented by two spaces.
        if (!text.startsWith('  ')) return flush();
        pending.message += `\n${text.trim()}`;
        pending.endLine = n;
        return;
      }
      // After one blank line, pretty output prints the code frame: `4 code` and its `~~~` underline.
      if (!/^\s*\d+ |^\s+[~^]/.test(text)) return flush();
      pending.endLine = n;
    },
    end: flush,
  };
}

/** TypeScript's `tsc`, plain and `--pretty`. */
export const tscParser: ParserSpec = {
  tool: 'tsc',
  signature: /\): error TS\d+: | - error TS\d+: |^error TS\d+: /,
  step: /\btsc\b|typecheck|type-check|check-types|\btypes\b/i,
  create,
};
