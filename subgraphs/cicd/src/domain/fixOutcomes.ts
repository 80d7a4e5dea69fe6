import { FixFailed, FixSucceeded, FixSuperseded } from '@cap/events';
import type { FixAttempt } from '../generated/prisma/client.js';
import { EVENT_SOURCE, type CicdDeps, type Tx } from './deps.js';
import { agentBranchOf } from './fixBranches.js';

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

/**
 * Orchestration created the fix's task (the first answer counts). A fix superseded while its task was being
 * created asks for that task to be cancelled now.
 */
export async function noteFixTask(deps: CicdDeps, tx: Tx, fixId: string, taskId: string): Promise<void> {
  const moved = await tx.fixAttempt.updateMany({
    where: { id: fixId, taskId: null },
    // The agent pushes the fix to its own branch: runs there are the fix's, never fixed themselves.
    data: { taskId, fixBranch: agentBranchOf(taskId) },
  });
  if (moved.count === 0) return;
  const attempt = await tx.fixAttempt.findUnique({ where: { id: fixId } });
  if (attempt?.status === 'SUPERSEDED' && attempt.taskFinishedAt === null)
    await recordSuperseded(deps, tx, attempt, taskId, attempt.supersededBy ?? attempt.headSha);
}

/**
 * The fix's pull request was opened (its head commit is the fix's own, never a newer commit; its head branch is the
 * fix's branch).
 */
export async function noteFixPullRequest(
  tx: Tx,
  taskId: string,
  pull: { number: number; headSha: string | null; headBranch: string | null },
): Promise<void> {
  await tx.fixAttempt.updateMany({
    where: { taskId },
    data: {
      fixPullRequest: pull.number,
      ...(pull.headSha ? { fixHeadSha: pull.headSha } : {}),
      ...(pull.headBranch ? { fixBranch: pull.headBranch } : {}),
    },
  });
}

/** The fix's task finished (completed, failed or cancelled): from now on only its checks conclude it. */
export async function noteFixTaskFinished(tx: Tx, taskId: string, at: Date): Promise<void> {
  await tx.fixAttempt.updateMany({ where: { taskId, taskFinishedAt: null }, data: { taskFinishedAt: at } });
}

/**
 * A newer commit (`headSha`) on the branch supersedes its pending fixes for older commits: SUGGESTED ones, and
 * REQUESTED ones whose task has not finished. A push of a fix's own commit (its pull request's head) does not. A
 * superseded fix whose task exists asks orchestration to cancel it (FixSuperseded); one whose task is still being
 * created asks when FixTaskCreated arrives ({@link noteFixTask}). Conditional updates: a redelivery changes nothing.
 */
export async function supersedePendingFixes(
  deps: CicdDeps,
  tx: Tx,
  repository: string,
  branch: string,
  headSha: string,
): Promise<void> {
  const pending = await tx.fixAttempt.findMany({
    where: {
      repository,
      branch,
      headSha: { not: headSha },
      OR: [{ status: 'SUGGESTED' }, { status: 'REQUESTED', taskFinishedAt: null }],
    },
  });
  for (const attempt of pending) {
    if (attempt.fixHeadSha === headSha) continue;
    const moved = await tx.fixAttempt.updateMany({
      where: { id: attempt.id, status: attempt.status, taskFinishedAt: null },
      data: {
        status: 'SUPERSEDED',
        supersededBy: headSha,
        reason: `superseded by ${headSha.slice(0, 12)}`,
      },
    });
    if (moved.count === 1 && attempt.taskId)
      await recordSuperseded(deps, tx, attempt, attempt.taskId, headSha);
  }
}

async function recordSuperseded(
  deps: CicdDeps,
  tx: Tx,
  attempt: FixAttempt,
  taskId: string,
  supersededBy: string,
): Promise<void> {
  await deps.events.record(tx, [
    FixSuperseded.create(
      { ...facts(attempt), taskId, supersededBy },
      { source: EVENT_SOURCE, aggregateId: attempt.id },
    ),
  ]);
}
