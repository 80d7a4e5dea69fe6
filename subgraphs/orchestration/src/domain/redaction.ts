import { storableText } from './storableText.js';
/** What replaces a secret in stored logs. */
export const REDACTED = '[REDACTED]';

/** Registered values shorter than this are not redacted: they would blank out ordinary words. */
export const MIN_SECRET_LENGTH = 6;

/**
 * Well-known secret shapes. Each pattern's match is replaced, except that a `keep` prefix group (e.g. the
 * `password=` before the value) survives so the log still says what was hidden.
 */
export const SECRET_PATTERNS: ReadonlyArray<{ name: string; pattern: RegExp; keep?: boolean }> = [
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_).
  { name: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g },
  // OpenAI / Anthropic style API keys (sk-..., sk-proj-..., sk-ant-...).
  { name: 'api-key', pattern: /\bsk-[A-Za-z0-9_-]{16,}/g },
  // AWS access key ids.
  { name: 'aws-access-key-id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  // Slack tokens.
  { name: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  // Bearer / Basic credentials in headers.
  { name: 'authorization', pattern: /(\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]{8,}/gi, keep: true },
  // key=value and key: value assignments of secret-looking keys (password=..., aws_secret_access_key = ...).
  {
    name: 'assignment',
    pattern:
      /(\b[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)[^\s"'&;,]+/gi,
    keep: true,
  },
  // Credentials in URLs: scheme://user:password@host.
  { name: 'url-credentials', pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+(?=@)/gi, keep: true },
  // A whole PEM block on one line (multi-line blocks are handled by the redactor's state).
  {
    name: 'pem',
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
  },
];

/**
 * What every one of {@link SECRET_PATTERNS} needs somewhere in its match (case-insensitively, a superset): a line
 * without any of these cannot hold a secret of those shapes, and skips the eight replacements (one scan instead
 * of eight, on the path of every log line). The test of this module checks the claim on generated lines.
 */
const MAY_HOLD_SECRET =
  /gh[pousr]_|github_pat_|sk-|AKIA|ASIA|ABIA|ACCA|xox[abposr]-|bearer|basic|token|passw|pwd|secret|api[_-]?key|access[_-]?key|private[_-]?key|:\/\/|-----BEGIN/i;

/** False when no pattern of {@link SECRET_PATTERNS} can match `text`. */
export function mayHoldSecret(text: string): boolean {
  return MAY_HOLD_SECRET.test(text);
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes secrets from text before it is stored: well-known token shapes, secret-looking assignments, PEM
 * private-key blocks (also when they arrive one line at a time), and values registered for the task (e.g. the
 * tokens an executor passes to a command). One redactor per execution: it remembers registered values and
 * whether a PEM block is open.
 */
export class Redactor {
  readonly #values = new Set<string>();
  #registered: RegExp | null = null;
  /** Per stream (stdout, stderr): inside a multi-line PEM block. */
  readonly #inPem = new Map<string, boolean>();

  constructor(values: Iterable<string> = []) {
    for (const value of values) this.register(value);
  }

  /** Redacts `value` wherever it appears from now on (ignored when shorter than {@link MIN_SECRET_LENGTH}). */
  register(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || this.#values.has(value)) return;
    this.#values.add(value);
    // Longest first, so a value containing another is replaced whole.
    const alternatives = [...this.#values].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#registered = new RegExp(alternatives.join('|'), 'g');
  }

  /**
   * Redacts one line (or a whole text). `stream` names the line's source, so that a PEM block opened on one
   * line of stdout stays redacted until its END line on stdout.
   */
  redact(text: string, stream = 'default'): string {
    let result = text;
    if (this.#inPem.get(stream)) {
      const end = PEM_END.exec(result);
      if (!end) return REDACTED;
      this.#inPem.set(stream, false);
      result = REDACTED + result.slice(end.index + end[0].length);
    }
    if (this.#registered) result = result.replace(this.#registered, REDACTED);
    if (!MAY_HOLD_SECRET.test(result)) return storableText(result);
    for (const { pattern, keep } of SECRET_PATTERNS) {
      result = result.replace(pattern, (_match: string, prefix: unknown) =>
        keep && typeof prefix === 'string' ? `${prefix}${REDACTED}` : REDACTED,
      );
    }
    const begin = PEM_BEGIN.exec(result);
    if (begin) {
      // A BEGIN without its END on this line: hide the rest of the line and the lines up to the END.
      this.#inPem.set(stream, true);
      result = `${result.slice(0, begin.index)}${REDACTED}`;
    }
    return storableText(result);
  }

  /** Redacts every string inside a JSON-like value (log entries' structured data). */
  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value, 'data');
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [storableText(key), this.redactValue(item)]),
      );
    }
    return value;
  }
}
