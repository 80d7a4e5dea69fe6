import { readFile, stat } from 'node:fs/promises';
import { REVIEW_NOTE_LIMITS, type ReviewNote } from '@cap/execution-contract';
import { PathRefusedError, resolveWorkspacePath } from './workspacePaths.js';

/**
 * Codes of a refused `add_review_note` call. The model reads them at the start of the tool error
 * (`REVIEW_NOTE_NOT_IN_CHANGE: …`) and can correct the call; a refusal never ends the run. Listed in the
 * package README ("Tool error codes").
 */
export const ReviewNoteRefusal = {
  /** The path is not a plain workspace-relative path (empty, absolute, `..`, `.` or empty segments, backslashes, NUL, control or bidirectional characters, too long). */
  REVIEW_NOTE_PATH_INVALID: 'REVIEW_NOTE_PATH_INVALID',
  /** The path names no file of the agent's change (the diff against the base commit, uncommitted work included). */
  REVIEW_NOTE_NOT_IN_CHANGE: 'REVIEW_NOTE_NOT_IN_CHANGE',
  /** The line is not a positive integer, or not a line of the file's new version (deleted, binary, or too short). */
  REVIEW_NOTE_LINE_INVALID: 'REVIEW_NOTE_LINE_INVALID',
  /** The body is empty, longer than 5,000 characters, or holds NUL, control characters other than tab and newline, or a lone surrogate. */
  REVIEW_NOTE_BODY_INVALID: 'REVIEW_NOTE_BODY_INVALID',
  /** The execution already holds the most notes it may (50). */
  REVIEW_NOTE_LIMIT_REACHED: 'REVIEW_NOTE_LIMIT_REACHED',
  /** The tool runs outside an execution that has a change to review. */
  REVIEW_NOTES_UNAVAILABLE: 'REVIEW_NOTES_UNAVAILABLE',
} as const;
/** A code of a refused review note. */
export type ReviewNoteRefusal = (typeof ReviewNoteRefusal)[keyof typeof ReviewNoteRefusal];

/** The agent's change as the notebook checks notes against it (`GitWorkspace` in an execution). */
export interface ChangeSource {
  /** Paths the change touches against the base commit, uncommitted work included, as git names them. */
  changedPaths(): Promise<string[]>;
  /** The unified diff of one changed path against the base (3 lines of context), possibly capped. */
  filePatch(path: string): Promise<string>;
}

/** What {@link ReviewNotebook.add} answers. */
export type NoteResult =
  | { ok: true; message: string }
  | { ok: false; code: ReviewNoteRefusal; message: string };

/** Largest file a note may point into (its lines are counted in memory), bytes. */
const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Paths of the change named in a refusal, at most. */
const LISTED_PATHS = 20;
// Control characters (C0, DEL, C1), the line and paragraph separators, and bidirectional controls (a path shown
// on the pull request must read as what it is).
// eslint-disable-next-line no-control-regex
const PATH_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const BODY_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// A UTF-16 surrogate without its partner: no text, and PostgreSQL's jsonb (where the note is stored) refuses it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const refuse = (code: ReviewNoteRefusal, message: string): NoteResult => ({
  ok: false,
  code,
  message: `${code}: ${message}`,
});

/** Why `path` is not a plain workspace-relative path, or null when it is one. */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'the path is empty';
  if (path.length > REVIEW_NOTE_LIMITS.maxPathChars)
    return `the path is longer than ${REVIEW_NOTE_LIMITS.maxPathChars} characters`;
  if (PATH_CONTROL.test(path) || LONE_SURROGATE.test(path))
    return 'the path contains NUL, control or bidirectional characters, or a lone surrogate';
  if (path.startsWith('/') || path.startsWith('~') || /^[A-Za-z]:/.test(path)) return 'the path is absolute';
  if (path.includes('\\')) return 'the path contains a backslash; separate directories with /';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..'))
    return 'the path has an empty, "." or ".." segment';
  return null;
}

/** Lines of the new version a line comment may sit on: the added and context lines of the patch's hunks. */
export function commentableLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let line = 0;
  let inHunk = false;
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      inHunk = true;
      continue;
    }
    if (!inHunk || text.startsWith('-') || text.startsWith('\\')) continue;
    if (text.startsWith('+') || text.startsWith(' ')) lines.add(line++);
    else inHunk = false;
  }
  return lines;
}

/**
 * The notes the agent attaches to lines of its own change (`add_review_note`), checked as they arrive: the path
 * must name a file of the change, the line must exist in its new version, the body fit the event's limits. A note
 * on a line outside the changed hunks is kept, and the github subgraph lists it in the review's summary instead of
 * placing it as a line comment (GitHub comments only on lines of the diff); so is a note whose line a later edit
 * moved off the diff. The notes array is shared with the agent's saved state, so notes survive an `ask_user` pause.
 */
export class ReviewNotebook {
  readonly notes: ReviewNote[];
  readonly #root: string;
  readonly #changes: ChangeSource;

  constructor(options: { root: string; changes: ChangeSource; notes?: ReviewNote[] }) {
    this.#root = options.root;
    this.#changes = options.changes;
    this.notes = options.notes ?? [];
  }

  /** Checks and records one note. Refusals are returned, never thrown (unexpected I/O failures are thrown). */
  async add(note: { path: string; line: number; body: string }): Promise<NoteResult> {
    const { path, line, body } = note;
    if (this.notes.length >= REVIEW_NOTE_LIMITS.maxNotes)
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_LIMIT_REACHED,
        `you already left ${REVIEW_NOTE_LIMITS.maxNotes} notes, the most one change may carry; put anything else in the finish summary.`,
      );
    const problem = pathProblem(path);
    if (problem)
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_PATH_INVALID,
        `${problem}. Give the path of a file you changed, relative to the repository root (e.g. src/sum.js).`,
      );
    if (!Number.isSafeInteger(line) || line < 1)
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID,
        `line must be a positive integer (1-based line of the file's new version), got ${String(line)}.`,
      );
    if (body.trim().length === 0 || body.length > REVIEW_NOTE_LIMITS.maxBodyChars)
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_BODY_INVALID,
        `body must hold 1 to ${REVIEW_NOTE_LIMITS.maxBodyChars} characters, got ${body.trim().length === 0 ? 'none' : body.length}.`,
      );
    if (BODY_CONTROL.test(body) || LONE_SURROGATE.test(body))
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_BODY_INVALID,
        'body contains NUL or control characters (only tab and newline are allowed), or a lone surrogate.',
      );
    const changed = await this.#changes.changedPaths();
    if (!changed.includes(path)) {
      const listed = changed.slice(0, LISTED_PATHS).join(', ');
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_NOT_IN_CHANGE,
        changed.length === 0
          ? 'you have not changed any file yet; notes go on lines of your own change.'
          : `${JSON.stringify(path)} is not a file of your change. Files you changed: ${listed}${changed.length > LISTED_PATHS ? `, … (${changed.length - LISTED_PATHS} more)` : ''}.`,
      );
    }
    const length = await this.#lineCount(path);
    if (typeof length === 'string') return refuse(ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID, length);
    if (line > length)
      return refuse(
        ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID,
        `${path} has ${length} lines in its new version; line ${line} does not exist.`,
      );
    const where = `${path}:${line}`;
    if (this.notes.some((n) => n.path === path && n.line === line && n.body === body))
      return { ok: true, message: `Already noted ${where}.` };
    const onDiff = commentableLines(await this.#changes.filePatch(path)).has(line);
    this.notes.push({ path, line, body });
    return {
      ok: true,
      message: `Noted ${where} (${this.notes.length} of at most ${REVIEW_NOTE_LIMITS.maxNotes}); ${
        onDiff
          ? 'it becomes a line comment on the pull request.'
          : 'the line is outside the changed hunks, so it will be listed in the review summary rather than as a line comment.'
      }`,
    };
  }

  /** Lines of the file's new version, or why it has none. */
  async #lineCount(path: string): Promise<number | string> {
    let target: string;
    try {
      target = await resolveWorkspacePath(this.#root, path);
    } catch (error) {
      if (error instanceof PathRefusedError) return error.message;
      throw error;
    }
    const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
      throw error;
    });
    if (!info) return `${path} was deleted by your change; it has no lines to note.`;
    if (!info.isFile()) return `${path} is not a regular file.`;
    if (info.size > MAX_FILE_BYTES) return `${path} is larger than 10 MiB; note it in the finish summary.`;
    const buffer = await readFile(target);
    if (buffer.subarray(0, 8192).includes(0)) return `${path} is a binary file; it has no lines to note.`;
    if (buffer.length === 0) return `${path} is empty in its new version.`;
    const text = buffer.toString('utf8');
    return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  }
}
