/**
 * The agent's own review of its change, as an execution returns it: the outcome of its last verification run and
 * the notes it attached to lines of its change. The limits are those of the `TaskCompleted` event that carries them
 * (`@cap/events`): the agent refuses notes beyond them, and orchestration caps whatever an executor returns to them.
 */

/** Outcome of the execution's last verification run. */
export interface VerificationOutcome {
  /** True when the command exited 0. */
  passed: boolean;
  /** The command that ran (the task's `verifyCommand`, or the detected one). */
  command: string | null;
}

/** A note on one line of the change, for a line comment on the pull request. */
export interface ReviewNote {
  /** Workspace-relative path of a file the change touched, as git names it (`src/sum.js`). */
  path: string;
  /** The line in the new version of `path`, 1-based. */
  line: number;
  /** What the reviewer should know about that line (Markdown, escaped where it is shown). */
  body: string;
}

/** Limits of review notes and verification, the `TaskCompleted` event's. */
export const REVIEW_NOTE_LIMITS = {
  /** Notes per execution. */
  maxNotes: 50,
  /** Characters of a note's body. */
  maxBodyChars: 5_000,
  /** Characters of a note's path. */
  maxPathChars: 500,
  /** Characters of the verification command. */
  maxCommandChars: 2_000,
} as const;
