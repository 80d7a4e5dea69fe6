import { TaskStatus as TaskStatusContract } from '@cap/events';
import { codedError, ErrorCode } from '@cap/runtime';

/** The states of a coding task: the task events' `TaskStatus` contract (`@cap/events`), declared once there. */
export const TASK_STATUSES = TaskStatusContract.options;

/** A task's state. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** What moves a task from one state to another. */
export type TaskEvent =
  /** The creating transaction hands the task on (to the classifier, or straight to the queue). */
  | 'SUBMIT'
  /** A classification arrived, or the classification timeout passed (default strategy). */
  | 'CLASSIFY'
  /** A worker claimed the queued execution. */
  | 'CLAIM'
  | 'SUCCEED'
  | 'FAIL'
  /** The execution asked the creator a question. */
  | 'ASK'
  /** The execution's worker was lost (lease expired) or shut down: a new attempt is queued. */
  | 'REQUEUE'
  /** provideTaskInput answered the question. */
  | 'ANSWER'
  /** retryTask. */
  | 'RETRY'
  /** cancelTask. */
  | 'CANCEL';

/**
 * Every allowed transition, in one table: from, to, and the event that causes it. Anything not listed is
 * rejected with INVALID_TASK_TRANSITION `{ from, to }` (plus `event`). Self-transitions are never allowed (a
 * second cancel is an error, not a no-op, so a client learns the task was already cancelled), and an event only
 * causes its own transitions: retryTask on a CLASSIFYING task is refused although CLASSIFYING → QUEUED exists.
 *
 * SUCCEEDED and CANCELLED are final; FAILED is final unless retried.
 */
export const TASK_TRANSITIONS: ReadonlyArray<{ from: TaskStatus; to: TaskStatus; on: TaskEvent }> = [
  { from: 'PENDING', to: 'CLASSIFYING', on: 'SUBMIT' },
  { from: 'PENDING', to: 'QUEUED', on: 'SUBMIT' },
  { from: 'PENDING', to: 'CANCELLED', on: 'CANCEL' },
  { from: 'CLASSIFYING', to: 'QUEUED', on: 'CLASSIFY' },
  { from: 'CLASSIFYING', to: 'CANCELLED', on: 'CANCEL' },
  { from: 'QUEUED', to: 'RUNNING', on: 'CLAIM' },
  { from: 'QUEUED', to: 'CANCELLED', on: 'CANCEL' },
  { from: 'RUNNING', to: 'SUCCEEDED', on: 'SUCCEED' },
  { from: 'RUNNING', to: 'FAILED', on: 'FAIL' },
  { from: 'RUNNING', to: 'AWAITING_INPUT', on: 'ASK' },
  { from: 'RUNNING', to: 'QUEUED', on: 'REQUEUE' },
  { from: 'RUNNING', to: 'CANCELLED', on: 'CANCEL' },
  { from: 'AWAITING_INPUT', to: 'QUEUED', on: 'ANSWER' },
  { from: 'AWAITING_INPUT', to: 'CANCELLED', on: 'CANCEL' },
  { from: 'FAILED', to: 'QUEUED', on: 'RETRY' },
];

/** States a task never leaves on its own (FAILED only by retryTask). */
export const FINAL_STATUSES: readonly TaskStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** True when the table allows `from` → `to` (through `on`, when given). */
export function canTransition(from: TaskStatus, to: TaskStatus, on?: TaskEvent): boolean {
  return TASK_TRANSITIONS.some(
    (row) => row.from === from && row.to === to && (on === undefined || row.on === on),
  );
}

/** The states a task in `from` may move to next. */
export function nextStatuses(from: TaskStatus): TaskStatus[] {
  return [...new Set(TASK_TRANSITIONS.filter((row) => row.from === from).map((row) => row.to))];
}

/**
 * Throws INVALID_TASK_TRANSITION with `{ from, to, event }` unless the table allows `from` → `to` through `on`.
 * @throws {GraphQLError} INVALID_TASK_TRANSITION
 */
export function assertTransition(from: TaskStatus, to: TaskStatus, on: TaskEvent): void {
  if (canTransition(from, to, on)) return;
  const allowed = TASK_TRANSITIONS.filter((row) => row.from === from && row.on === on).map((row) => row.to);
  const fromWhere = TASK_TRANSITIONS.filter((row) => row.on === on).map((row) => row.from);
  const why =
    allowed.length === 0
      ? fromWhere.length > 0
        ? `${on} applies to ${[...new Set(fromWhere)].join(' or ')} tasks, and this one is ${from}`
        : `nothing causes ${on}`
      : `${on} moves a ${from} task to ${allowed.join(' or ')}`;
  throw codedError(ErrorCode.INVALID_TASK_TRANSITION, `A ${from} task cannot become ${to}: ${why}.`, {
    from,
    to,
    event: on,
  });
}
