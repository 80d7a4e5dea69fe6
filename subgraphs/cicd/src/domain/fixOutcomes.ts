import { FixFailed, FixSucceeded } from '@cap/events';
import type { FixAttempt } from '../generated/prisma/client.js';
import { EVENT_SOURCE, type CicdDeps, type Tx } from './deps.js';

/** Conclusions that count as a fix's checks passing. */
const GREEN = new Set(['SUCCESS', 'NEUTRAL', 'SKIPPED']);
/** Conclusions that count as a fix's checks failing (a cancelled or stale run says nothing). */
const RED = new Set(['FAILURE', 'TIMED_OUT', 'STARTUP_FAILURE', 'ACTION_REQUIRED']);

const facts = (attempt: FixAttempt) => ({
  fixId: attempt.id,
  repository: attempt.repository,
  branch: attempt.branch,
  headSha: attempt.headSha,
});

/**
 * Checks (a run or a check suite) completed on the pull requests of `taskIds`: a requested fix whose checks pass
 * is FIXED (FixSucceeded), one whose checks fail is FAILED (FixFailed). Only REQUESTED fixes move (conditionally,
 * so a redelivered event changes nothing).
 */
export async function concludeFixesOfTasks(
  deps: CicdDeps,
  tx: Tx,
  taskIds: readonly string[],
  conclusion: string,
  at: Date,
): Promise<void> {
  if (!GREEN.has(conclusion) && !RED.has(conclusion)) return;
  const attempts = await tx.fixAttempt.findMany({
    where: { taskId: { in: [...taskIds] }, status: 'REQUESTED' },
  });
  for (const attempt of attempts) {
    const green = GREEN.has(conclusion);
    const moved = await tx.fixAttempt.updateMany({
      where: { id: attempt.id, status: 'REQUESTED' },
      data: green
        ? { status: 'FIXED', fixedAt: at }
        : { status: 'FAILED', reason: `the fix's checks concluded ${conclusion}` },
    });
    if (moved.count === 0) continue;
    const meta = { source: EVENT_SOURCE, aggregateId: attempt.id };
    await deps.events.record(tx, [
      green
        ? FixSucceeded.create(
            {
              ...facts(attempt),
              taskId: attempt.taskId,
              accepted: false,
              timeToGreenMs: Math.max(0, at.getTime() - attempt.failedAt.getTime()),
            },
            meta,
          )
        : FixFailed.create(
            { ...facts(attempt), taskId: attempt.taskId, reason: `checks concluded ${conclusion}` },
            meta,
          ),
    ]);
  }
}

/** A task's execution failed: its requested fix is FAILED. */
export async function failFixOfTask(deps: CicdDeps, tx: Tx, taskId: string, reason: string): Promise<void> {
  const attempt = await tx.fixAttempt.findUnique({ where: { taskId } });
  if (!attempt) return;
  const moved = await tx.fixAttempt.updateMany({
    where: { id: attempt.id, status: 'REQUESTED' },
    data: { status: 'FAILED', reason: reason.slice(0, 500) },
  });
  if (moved.count === 0) return;
  await deps.events.record(tx, [
    FixFailed.create(
      { ...facts(attempt), taskId, reason: reason.slice(0, 500) },
      { source: EVENT_SOURCE, aggregateId: attempt.id },
    ),
  ]);
}

/** The fix's pull request was merged: the fix is ACCEPTED (a fixed one emits FixSucceeded with `accepted`). */
export async function acceptFixOfTask(deps: CicdDeps, tx: Tx, taskId: string, at: Date): Promise<void> {
  const attempt = await tx.fixAttempt.findUnique({ where: { taskId } });
  if (!attempt || attempt.acceptedAt) return;
  const moved = await tx.fixAttempt.updateMany({
    where: { id: attempt.id, status: { in: ['REQUESTED', 'FIXED'] }, acceptedAt: null },
    data: { status: 'ACCEPTED', acceptedAt: at, fixedAt: attempt.fixedAt ?? at },
  });
  if (moved.count === 0) return;
  await deps.events.record(tx, [
    FixSucceeded.create(
      {
        ...facts(attempt),
        taskId,
        accepted: true,
        timeToGreenMs: Math.max(0, (attempt.fixedAt ?? at).getTime() - attempt.failedAt.getTime()),
      },
      { source: EVENT_SOURCE, aggregateId: attempt.id },
    ),
  ]);
}

/** Adds what a fix task's execution cost (TaskCompleted's `costUsd`). */
export async function addFixCost(tx: Tx, taskId: string, costUsd: number): Promise<void> {
  await tx.fixAttempt.updateMany({ where: { taskId }, data: { costUsd: { increment: costUsd } } });
  await tx.fixAttempt.updateMany({ where: { taskId, costUsd: null }, data: { costUsd } });
}

/** Orchestration created the fix's task (the first answer counts). */
export async function noteFixTask(tx: Tx, fixId: string, taskId: string): Promise<void> {
  await tx.fixAttempt.updateMany({ where: { id: fixId, taskId: null }, data: { taskId } });
}

/** The fix's pull request was opened. */
export async function noteFixPullRequest(tx: Tx, taskId: string, number: number): Promise<void> {
  await tx.fixAttempt.updateMany({ where: { taskId }, data: { fixPullRequest: number } });
}

/** A newer commit on the branch supersedes suggestions (not yet approved) for older commits. */
export async function supersedeOlderSuggestions(
  _deps: CicdDeps,
  tx: Tx,
  repository: string,
  branch: string,
  headSha: string,
): Promise<void> {
  await tx.fixAttempt.updateMany({
    where: { repository, branch, status: 'SUGGESTED', headSha: { not: headSha } },
    data: { status: 'SUPERSEDED', reason: `superseded by ${headSha.slice(0, 12)}` },
  });
}
