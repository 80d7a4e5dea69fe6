import type { RawFailure } from '../types.js';
import type { Emit, ParserSpec } from './parser.js';

/** Stylish: `  1:7  error  'x' is assigned a value but never used  no-unused-vars` under a file header line. */
const STYLISH = /^\s+(\d+):(\d+)\s+(error|warning)\s+/;
/** Unix: `path:1:7: message [Error/rule]`; compact: `path: line 1, col 7, Error - message (rule)`. */
const UNIX_TAIL = / \[(Error|Warning)\/([^\]\s]+)\]$/;
const COMPACT = /^(\S.*?): line (\d+), col (\d+), (Error|Warning) - /;

function severity(word: string): 'error' | 'warning' {
  return word.toLowerCase() === 'warning' ? 'warning' : 'error';
}

/** Splits `message  rule` (stylish: the rule after the last run of two or more spaces), regex-free. */
function stylishMessage(rest: string): { message: string; rule?: string } {
  const text = rest.trimEnd();
  const gap = text.lastIndexOf('  ');
  if (gap === -1) return { message: text };
  const rule = text.slice(gap).trim();
  if (rule.includes(' ')) return { message: text };
  return { message: text.slice(0, gap).trim(), rule };
}

/** `message (rule)`; the unix and compact formatters end messages with a full stop, stylish does not. */
function withRule(message: string, rule: string | undefined): string {
  const text = message.trim().replace(/\.$/, '');
  return rule ? `${text} (${rule})` : text;
}

function create(emit: Emit) {
  let file: string | undefined;
  return {
    line({ n, text }: { n: number; text: string }) {
      const stylish = STYLISH.exec(text);
      if (stylish) {
        if (!file) return;
        const { message, rule } = stylishMessage(text.slice(stylish[0].length));
        emit({
          tool: 'eslint',
          file,
          line: Number(stylish[1]),
          column: Number(stylish[2]),
          severity: severity(stylish[3]!),
          message: withRule(message, rule),
          startLine: n,
          endLine: n,
        });
        return;
      }
      const compact = COMPACT.exec(text);
      if (compact) {
        let message = text.slice(compact[0].length);
        let rule: string | undefined;
        const open = message.lastIndexOf(' (');
        if (message.endsWith(')') && open !== -1) {
          rule = message.slice(open + 2, -1);
          message = message.slice(0, open);
        }
        emit(failure(n, compact[1]!, compact[2]!, compact[3]!, compact[4]!, withRule(message, rule)));
        return;
      }
      const unix = text.endsWith(']') ? UNIX_TAIL.exec(text) : null;
      if (unix) {
        const head = text.slice(0, unix.index);
        // `path:line:col: message`: the location is the first `:digits:digits: ` after the path.
        const location = /:(\d+):(\d+): /.exec(head);
        if (location) {
          const message = head.slice(location.index + location[0].length);
          emit(
            failure(
              n,
              head.slice(0, location.index),
              location[1]!,
              location[2]!,
              unix[1]!,
              withRule(message, unix[2]),
            ),
          );
        }
        return;
      }
      const trimmed = text.trim();
      // A stylish file header: a path alone on its line, not indented.
      if (trimmed !== '' && !/^\s/.test(text) && !trimmed.includes(' ') && /\.\w+$/.test(trimmed))
        file = trimmed;
      else if (trimmed === '' || /^\S/.test(text)) file = trimmed === '' ? file : undefined;
    },
    end() {},
  };
}

function failure(
  n: number,
  file: string,
  line: string,
  column: string,
  level: string,
  message: string,
): RawFailure {
  return {
    tool: 'eslint',
    file,
    line: Number(line),
    column: Number(column),
    severity: severity(level),
    message,
    startLine: n,
    endLine: n,
  };
}

/** ESLint's stylish (default), unix and compact formatters. */
export const eslintParser: ParserSpec = {
  tool: 'eslint',
  signature:
    /^\s+\d+:\d+\s+(?:error|warning)\s|: line \d+, col \d+, (?:Error|Warning) - | \[(?:Error|Warning)\/\S+\]$/,
  step: /eslint|\blint\b/i,
  create,
};
