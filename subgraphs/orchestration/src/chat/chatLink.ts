import { cappedText as capped } from '../domain/storableText.js';
import { verificationOf, type TaskVerification } from '../domain/verification.js';
import { REVIEW_NOTE_LIMITS } from '@cap/execution-contract';

/** A task's link to the chat conversation it was created in (columns of `CodingTask`). */
export interface ChatLinked {
  conversationId: string | null;
  chatAgentId: string | null;
}

/**
 * The optional `conversationId`/`agentId` fields of a task event: set for a task created from a chat message,
 * so chat posts the event into the conversation as that agent; empty (not null) otherwise, so the events of
 * other tasks are unchanged.
 */
export function chatLinkOf(task: ChatLinked): { conversationId?: string; agentId?: string } {
  return task.conversationId && task.chatAgentId
    ? { conversationId: task.conversationId, agentId: task.chatAgentId }
    : {};
}

/** A note of the agent's own review as `TaskCompleted` carries it. */
export interface CompletionNote {
  path: string;
  line: number;
  body: string;
}

// C0 and C1 control characters and DEL: a path carrying them is no file name a review comment can sit on.
// eslint-disable-next-line no-control-regex
const PATH_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// A UTF-16 surrogate without its partner: JSON.stringify escapes it, and PostgreSQL's jsonb (the outbox) refuses it.
const HAS_LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The notes an executor returned, as `TaskCompleted` may carry them (the limits of `REVIEW_NOTE_LIMITS`): the first
 * 50 notes whose path is 1–500 characters without control characters or lone surrogates and whose line is a
 * positive integer, bodies cut to 5,000 characters (ending with `…`) with NUL and lone surrogates made U+FFFD. Everything else (more notes, malformed ones) is
 * dropped and counted, never silently: the caller logs the count. Linear in the notes, and stops once 50 are kept.
 */
export function capReviewNotes(value: unknown): { notes: CompletionNote[]; dropped: number } {
  if (!Array.isArray(value)) return { notes: [], dropped: 0 };
  const notes: CompletionNote[] = [];
  for (const note of value as unknown[]) {
    if (notes.length >= REVIEW_NOTE_LIMITS.maxNotes) break;
    if (note === null || typeof note !== 'object') continue;
    const { path, line, body } = note as Record<string, unknown>;
    if (typeof path !== 'string' || path.length === 0 || path.length > REVIEW_NOTE_LIMITS.maxPathChars)
      continue;
    if (
      PATH_CONTROL.test(path) ||
      HAS_LONE_SURROGATE.test(path) ||
      typeof line !== 'number' ||
      !Number.isSafeInteger(line) ||
      line < 1
    )
      continue;
    if (typeof body !== 'string' || body.length === 0) continue;
    notes.push({ path, line, body: capped(body, REVIEW_NOTE_LIMITS.maxBodyChars) });
  }
  return { notes, dropped: value.length - notes.length };
}

/**
 * The result facts `TaskCompleted` carries beside the summary: branch, commit, diff stats, LLM cost, and the agent's
 * own review: the outcome of its last verification (command cut to 2,000 characters) and its notes on lines of the
 * change ({@link capReviewNotes}; `onDropped` hears how many notes did not fit). Whatever the executor returned,
 * the facts fit the event's schema.
 */
export function completionFacts(
  result: {
    branch?: string | undefined;
    commitSha?: string | null | undefined;
    diffStats?: { filesChanged: number; additions: number; deletions: number } | undefined;
    verification?: unknown;
    reviewNotes?: unknown;
  },
  usage: { costUsd?: unknown },
  onDropped?: (count: number) => void,
): {
  branch?: string;
  commitSha?: string;
  diffStats?: { filesChanged: number; additions: number; deletions: number };
  costUsd?: number;
  verification?: TaskVerification;
  reviewNotes?: CompletionNote[];
} {
  const cost = usage.costUsd;
  const verification = verificationOf(result.verification);
  const { notes, dropped } = capReviewNotes(result.reviewNotes);
  if (dropped > 0) onDropped?.(dropped);
  return {
    ...(result.branch ? { branch: result.branch.slice(0, 300) } : {}),
    ...(result.commitSha ? { commitSha: result.commitSha.slice(0, 100) } : {}),
    ...(result.diffStats ? { diffStats: result.diffStats } : {}),
    ...(typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? { costUsd: cost } : {}),
    ...(verification ? { verification } : {}),
    ...(notes.length > 0 ? { reviewNotes: notes } : {}),
  };
}
