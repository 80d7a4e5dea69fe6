/**
 * GitHub Actions log framing, taken off one line at a time. Every regex here is anchored or made of disjoint
 * character classes, so each line costs time linear in its length whatever it contains (tested on generated
 * adversarial lines).
 */

/** The runner's timestamp prefix: `2026-12-06T11:02:03.4567890Z `. */
const TIMESTAMP = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?/;
/* eslint-disable no-control-regex -- matching terminal control characters is this module's purpose. */
/** CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles); classes are disjoint. */
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;
/** Remaining C0 controls except tab (a lone ESC, BEL, backspace…) after ANSI removal. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
const ANY_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
/* eslint-enable no-control-regex */
const RUNNER_COMMAND = /^##\[(group|endgroup|error|warning|notice|debug|command|section)\]/;
const WORKFLOW_COMMAND = /^::(group|endgroup|error|warning|notice|debug)(?: ([^:]*))?::/;

/** What kind of line the runner's framing makes of it. */
export type LineKind = 'text' | 'group' | 'endgroup' | 'error' | 'warning' | 'notice' | 'debug' | 'command';

/** A `::error file=…,line=…::message` workflow command's properties. */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  file?: string;
  line?: number;
  column?: number;
  title?: string;
}

export interface GithubLine {
  kind: LineKind;
  /** The text without timestamp, ANSI codes and the `##[…]`/`::…::` prefix. */
  text: string;
  annotation?: Annotation;
}

/** Removes ANSI escape sequences and other control characters (tab kept). */
export function stripAnsi(text: string): string {
  // ESC is itself a control character: one scan decides for most lines, which have neither.
  if (!ANY_CONTROL.test(text)) return text;
  return text.replace(ANSI, '').replace(CONTROL, '');
}

/** Undoes the workflow-command escaping of a message (`%25`, `%0D`, `%0A`) and of properties (`%3A`, `%2C`). */
function unescape(value: string): string {
  return value.replace(/%(25|0D|0A|3A|2C)/gi, (_, code: string) =>
    String.fromCharCode(Number.parseInt(code, 16)),
  );
}

function annotationOf(level: Annotation['level'], properties: string | undefined): Annotation {
  const annotation: Annotation = { level };
  for (const pair of (properties ?? '').split(',')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const key = pair.slice(0, equals).trim();
    const value = unescape(pair.slice(equals + 1));
    if (key === 'file') annotation.file = value;
    else if (key === 'title') annotation.title = value;
    // GitHub documents `col`; some reporters (Vitest's) write `column`.
    else if (key === 'line' || key === 'col' || key === 'column') {
      const number = Number.parseInt(value, 10);
      if (Number.isSafeInteger(number) && number > 0) annotation[key === 'line' ? 'line' : 'column'] = number;
    }
  }
  return annotation;
}

/** Takes GitHub's framing off one raw line (already split, without its line break). */
export function parseGithubLine(raw: string): GithubLine {
  // Only a line shaped like `2026-…` or starting with a BOM can carry the prefix: skip the regex otherwise.
  const stamped = raw.charCodeAt(4) === 45 || raw.charCodeAt(0) === 0xfeff;
  const text = stripAnsi(stamped ? raw.replace(TIMESTAMP, '') : raw);
  if (text.charCodeAt(0) === 35 /* # */) {
    const runner = RUNNER_COMMAND.exec(text);
    if (runner) {
      const kind = runner[1] === 'section' ? 'text' : (runner[1] as LineKind);
      return { kind, text: text.slice(runner[0].length) };
    }
  } else if (text.charCodeAt(0) === 58 /* : */) {
    const command = WORKFLOW_COMMAND.exec(text);
    if (command) {
      const kind = command[1] as LineKind;
      const message = unescape(text.slice(command[0].length));
      if (kind === 'error' || kind === 'warning' || kind === 'notice') {
        return { kind, text: message, annotation: annotationOf(kind, command[2]) };
      }
      return { kind, text: message };
    }
  }
  return { kind: 'text', text };
}
