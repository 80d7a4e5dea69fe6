import { fingerprintOf, relativeFile } from './fingerprint.js';
import { parseGithubLine } from './githubLine.js';
import type { CiLogLimits } from './limits.js';
import { PARSERS, type ParserSpec } from './parsers/index.js';
import type { LineParser } from './parsers/parser.js';
import type { CiFailure, JobLogReport, LogLine, RawFailure, Tool } from './types.js';

/** Lines kept for excerpts and for replaying to a parser the detector starts late; a power of two. */
const RECENT_LINES = 256;
/** Lines before a failure's first line shown in its excerpt. */
const CONTEXT_BEFORE = 2;
/** Lines of the step replayed to a parser when its signature appears. */
const REPLAY_LINES = 64;
/**
 * Error-looking lines for the generic fallback: whole words, or an exception class (`AssertionError`,
 * `NullPointerException`); `0 errors` and the like are excluded below.
 */
const ERROR_LOOKING =
  /\b(?:error|ERROR|Error|FAILED|FAIL|Failed|failed|failing|fatal|FATAL|panic|Exception|Traceback)\b|[a-z](?:Error|Exception)\b/;
const NOT_AN_ERROR = /\b(?:0|no) (?:errors?|failures?|failed)\b|\berrors?: 0\b/i;
const EXIT_CODE = /^Process completed with exit code \d+\.?$/;
const GENERIC_BLOCK_LINES = 12;

/** The detector's one regex over the signatures of the parsers not yet started, compiled once per set. */
const compiledSignatures = new Map<string, RegExp | undefined>();
function signaturesOf(specs: readonly ParserSpec[]): RegExp | undefined {
  const key = specs.map((spec) => spec.tool).join(',');
  if (!compiledSignatures.has(key)) {
    compiledSignatures.set(
      key,
      specs.length === 0
        ? undefined
        : new RegExp(specs.map((spec) => `(?:${spec.signature.source})`).join('|')),
    );
  }
  return compiledSignatures.get(key);
}

interface Generic {
  start: number;
  end: number;
  message: string;
  step: string | undefined;
  open: boolean;
}

/**
 * Scans one job's log line by line in a single pass: takes GitHub's framing off, tracks steps (`##[group]Run …`
 * or a caller-given step), lets the detector start the parsers whose signature or step name matches, and turns their
 * findings into fingerprinted, deduplicated failures with excerpts. Memory is bounded by the recent-lines window
 * and `maxFailures`, whatever the log's length.
 */
export class JobLogScanner {
  private readonly recent: string[] = new Array<string>(RECENT_LINES).fill('');
  private n = 0;
  private stepStart = 1;
  private step: string | undefined;
  private inScript = false;
  private named = false;
  private readonly active = new Map<Tool, LineParser>();
  private inactive: ParserSpec[] = [...PARSERS];
  private signatures: RegExp | undefined;
  private readonly detected = new Set<Tool>();
  private readonly failures = new Map<string, CiFailure>();
  private dropped = 0;
  private generic: Generic | undefined;
  private exitCode: Generic | undefined;

  constructor(
    private readonly limits: CiLogLimits,
    private readonly job?: string,
  ) {
    this.rebuildSignatures();
  }

  /**
   * Starts a step the caller knows (an archive entry, or a log of one step): its `##[group]Run …` lines then only
   * add tool hints. Without a name, the log's own `##[group]Run …` lines delimit and name the steps again.
   */
  startStep(name: string | undefined): void {
    this.named = name !== undefined;
    this.beginStep(name);
  }

  private beginStep(name: string | undefined): void {
    this.endStep();
    this.step = name;
    this.stepStart = this.n + 1;
    if (name) this.hint(name);
  }

  private hint(name: string): void {
    for (const spec of this.inactive) if (spec.step?.test(name)) this.activate(spec, false);
  }

  /** Feeds one raw line (without its line break). */
  push(raw: string): void {
    const framed = parseGithubLine(raw);
    const n = ++this.n;
    this.recent[n & (RECENT_LINES - 1)] = framed.text;
    if (framed.kind === 'group' && framed.text.startsWith('Run ')) {
      const command = framed.text.slice(4).trim();
      // A step the caller named (an archive entry) keeps its name; its command's group only adds hints.
      if (this.named) this.hint(command);
      else this.beginStep(command);
      this.inScript = true;
      return;
    }
    if (framed.kind === 'endgroup') {
      this.inScript = false;
      return;
    }
    // The step's script and environment, echoed by the runner inside its first group, are not output.
    if (this.inScript || framed.kind === 'group' || framed.kind === 'debug' || framed.kind === 'command')
      return;
    if (framed.annotation && framed.annotation.level !== 'notice') {
      this.annotate(n, framed.text, framed.annotation);
      return;
    }
    if (framed.kind === 'error' && EXIT_CODE.test(framed.text)) {
      this.exitCode ??= { start: n, end: n, message: framed.text, step: this.step, open: false };
      return;
    }
    const line: LogLine = { n, text: framed.text };
    this.watchGeneric(line, framed.kind === 'error');
    if (this.signatures && this.signatures.test(framed.text)) {
      for (const spec of [...this.inactive]) if (spec.signature.test(framed.text)) this.activate(spec, true);
    }
    for (const parser of this.active.values()) parser.line(line);
  }

  /** Ends the log and returns the report. */
  finish(bytes: number): JobLogReport {
    this.endStep();
    if (this.failures.size === 0) {
      const fallback = this.generic ?? this.exitCode;
      if (fallback) {
        this.step = fallback.step;
        this.record(
          { tool: 'generic', message: fallback.message, startLine: fallback.start, endLine: fallback.end },
          fallback.start,
        );
      }
    }
    // A reporter's annotation (`::error file=…,line=…`) repeats a failure a parser already found at that place.
    const places = new Set(
      [...this.failures.values()].filter((f) => f.tool !== 'annotation').map((f) => `${f.file}:${f.line}`),
    );
    const report: JobLogReport = {
      failures: [...this.failures.values()].filter(
        (f) => f.tool !== 'annotation' || f.file === undefined || !places.has(`${f.file}:${f.line}`),
      ),
      tools: [...this.detected],
      lines: this.n,
      bytes,
      droppedFailures: this.dropped,
    };
    if (this.job !== undefined) report.job = this.job;
    return report;
  }

  private endStep(): void {
    for (const parser of this.active.values()) parser.end();
    this.active.clear();
    this.inactive = [...PARSERS];
    this.rebuildSignatures();
    this.inScript = false;
  }

  private rebuildSignatures(): void {
    this.signatures = signaturesOf(this.inactive);
  }

  private activate(spec: ParserSpec, replay: boolean): void {
    const parser = spec.create((failure) => this.record(failure, failure.startLine));
    this.active.set(spec.tool, parser);
    this.detected.add(spec.tool);
    this.inactive = this.inactive.filter((other) => other !== spec);
    this.rebuildSignatures();
    if (!replay) return;
    // The lines of this step before the signature (a file header, a section title) belong to the tool's output.
    const from = Math.max(this.stepStart, this.n - REPLAY_LINES, this.n - RECENT_LINES + 1);
    for (let n = from; n < this.n; n++) parser.line({ n, text: this.recent[n & (RECENT_LINES - 1)]! });
  }

  private annotate(
    n: number,
    message: string,
    annotation: { file?: string; line?: number; column?: number; title?: string },
  ): void {
    const failure: RawFailure = {
      tool: 'annotation',
      message: annotation.title ? `${annotation.title}: ${message}` : message,
      startLine: n,
      endLine: n,
    };
    if (annotation.file) failure.file = annotation.file;
    if (annotation.line) failure.line = annotation.line;
    if (annotation.column) failure.column = annotation.column;
    this.detected.add('annotation');
    this.record(failure, n);
  }

  private watchGeneric(line: LogLine, runnerError: boolean): void {
    const generic = this.generic;
    if (generic?.open) {
      if (line.text.trim() === '' || line.n - generic.start >= GENERIC_BLOCK_LINES) generic.open = false;
      else generic.end = line.n;
      return;
    }
    if (generic) return;
    if (runnerError || (ERROR_LOOKING.test(line.text) && !NOT_AN_ERROR.test(line.text))) {
      this.generic = { start: line.n, end: line.n, message: line.text.trim(), step: this.step, open: true };
    }
  }

  private excerpt(start: number, end: number): string {
    const first = Math.max(1, start - CONTEXT_BEFORE, this.n - RECENT_LINES + 1);
    const last = Math.min(end, first + this.limits.maxExcerptLines - 1, this.n);
    const lines: string[] = [];
    let chars = 0;
    for (let n = first; n <= last; n++) {
      const text = this.recent[n & (RECENT_LINES - 1)]!;
      if (chars + text.length > this.limits.maxExcerptChars) {
        lines.push(text.slice(0, Math.max(0, this.limits.maxExcerptChars - chars)) + '…');
        break;
      }
      lines.push(text);
      chars += text.length + 1;
    }
    if (end > last) lines.push(`… (${end - last} more lines)`);
    return lines.join('\n');
  }

  private record(raw: RawFailure, at: number): void {
    const message = raw.message.trim().slice(0, this.limits.maxMessageChars) || 'failed';
    const file = raw.file ? relativeFile(raw.file) : undefined;
    const fingerprint = fingerprintOf({ tool: raw.tool, file, testName: raw.testName, message });
    const existing = this.failures.get(fingerprint);
    if (existing) {
      existing.occurrences++;
      return;
    }
    if (this.failures.size >= this.limits.maxFailures) {
      this.dropped++;
      return;
    }
    const failure: CiFailure = {
      tool: raw.tool,
      message,
      severity: raw.severity ?? 'error',
      excerpt: this.excerpt(raw.startLine, Math.max(raw.endLine, raw.startLine)),
      fingerprint,
      occurrences: 1,
      logLine: at,
    };
    if (file) failure.file = file;
    if (raw.line !== undefined) failure.line = raw.line;
    if (raw.column !== undefined) failure.column = raw.column;
    if (raw.testName) failure.testName = raw.testName;
    if (this.step) failure.step = this.step;
    this.failures.set(fingerprint, failure);
  }
}
