import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  canTransition,
  nextStatuses,
  TASK_STATUSES,
  type TaskEvent,
  type TaskStatus,
} from '../src/domain/taskStateMachine.js';

/** The allowed transitions and the event causing each, written out independently of the table under test. */
const ALLOWED: Record<string, TaskEvent> = {
  'PENDING->CLASSIFYING': 'SUBMIT',
  'PENDING->QUEUED': 'SUBMIT',
  'PENDING->CANCELLED': 'CANCEL',
  'CLASSIFYING->QUEUED': 'CLASSIFY',
  'CLASSIFYING->CANCELLED': 'CANCEL',
  'QUEUED->RUNNING': 'CLAIM',
  'QUEUED->CANCELLED': 'CANCEL',
  'RUNNING->SUCCEEDED': 'SUCCEED',
  'RUNNING->FAILED': 'FAIL',
  'RUNNING->AWAITING_INPUT': 'ASK',
  'RUNNING->QUEUED': 'REQUEUE',
  'RUNNING->CANCELLED': 'CANCEL',
  'AWAITING_INPUT->QUEUED': 'ANSWER',
  'AWAITING_INPUT->CANCELLED': 'CANCEL',
  'FAILED->QUEUED': 'RETRY',
};
const EVENTS: TaskEvent[] = [
  'SUBMIT',
  'CLASSIFY',
  'CLAIM',
  'SUCCEED',
  'FAIL',
  'ASK',
  'REQUEUE',
  'ANSWER',
  'RETRY',
  'CANCEL',
];

const pairs: Array<[TaskStatus, TaskStatus]> = TASK_STATUSES.flatMap((from) =>
  TASK_STATUSES.map((to) => [from, to] as [TaskStatus, TaskStatus]),
);
const allowed = pairs.filter(([from, to]) => `${from}->${to}` in ALLOWED);
const forbidden = pairs.filter(([from, to]) => !(`${from}->${to}` in ALLOWED));

function rejection(from: TaskStatus, to: TaskStatus, on: TaskEvent): unknown {
  try {
    assertTransition(from, to, on);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('task state machine', () => {
  it('covers all 64 pairs of the 8 states: 15 allowed, 49 forbidden', () => {
    expect(pairs).toHaveLength(64);
    expect(allowed).toHaveLength(15);
    expect(forbidden).toHaveLength(49);
  });

  it.each(allowed)('allows %s -> %s through its event, and through no other', (from, to) => {
    const event = ALLOWED[`${from}->${to}`]!;
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to, event)).not.toThrow();
    for (const other of EVENTS.filter((candidate) => candidate !== event)) {
      expect(rejection(from, to, other)).toMatchObject({
        extensions: { code: 'INVALID_TASK_TRANSITION', from, to, event: other },
      });
    }
  });

  it.each(forbidden)(
    'rejects %s -> %s with INVALID_TASK_TRANSITION { from, to } whatever the event',
    (from, to) => {
      expect(canTransition(from, to)).toBe(false);
      for (const event of EVENTS) {
        expect(rejection(from, to, event)).toMatchObject({
          extensions: { code: 'INVALID_TASK_TRANSITION', from, to, event },
        });
      }
    },
  );

  it('has final states that lead nowhere, and retry as the only way out of FAILED', () => {
    expect(nextStatuses('SUCCEEDED')).toEqual([]);
    expect(nextStatuses('CANCELLED')).toEqual([]);
    expect(nextStatuses('FAILED')).toEqual(['QUEUED']);
    expect(nextStatuses('RUNNING')).toEqual(['SUCCEEDED', 'FAILED', 'AWAITING_INPUT', 'QUEUED', 'CANCELLED']);
  });
});
