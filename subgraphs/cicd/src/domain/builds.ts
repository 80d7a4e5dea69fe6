import { inTransaction, type UnitOfWork } from '@cap/runtime/kit';
import type { Build } from '../generated/prisma/client.js';
import { publishBuildChanged } from './buildFeed.js';
import type { CicdDeps, Tx } from './deps.js';
import { fixTasksOfBranch } from './fixBranches.js';
import { concludeFixesOfTasks, supersedePendingFixes } from './fixOutcomes.js';
import { FAILED_CONCLUSIONS, type RunFacts } from './runFacts.js';

/** Which path saw a run. */
export type RunSource = 'WEBHOOK' | 'POLL';

/** What recording a run did. */
export interface RecordedRun {
  build: Build;
  /** True when this call saw the run complete as failed for the first time (its logs are now to be parsed). */
  newlyFailed: boolean;
}

/**
 * Records a run ONCE per repository + run id + attempt, whichever path reports it (and however often): a second
 * report only moves a running build forward; a completed build is final. A run seen failing for the first time
 * gets its logs queued for parsing; a run on a fix's pull request concludes that fix.
 */
export async function recordRun(deps: CicdDeps, facts: RunFacts, source: RunSource): Promise<RecordedRun> {
  const once = () => inTransaction(deps, (uow) => recordRunIn(deps, uow, facts, source));
  try {
    return await once();
  } catch (error) {
    // Both paths inserted the same run at once: the loser's transaction rolled back; the row exists now.
    if ((error as { code?: string }).code !== 'P2002') throw error;
    return once();
  }
}

/**
 * {@link recordRun} inside a unit of work the caller owns (the consumer's, so the run commits with the event's
 * processed-mark). A concurrent insert of the same run fails the unit of work (P2002); the consumer's retry then
 * finds the row.
 */
export async function recordRunIn(
  deps: CicdDeps,
  uow: UnitOfWork<Tx>,
  facts: RunFacts,
  source: RunSource,
): Promise<RecordedRun> {
  // A run on a fix's own branch is that fix's run, whichever path reports it: the poll and the runs of a push
  // (before the pull request exists) name no task. Its tasks conclude their fixes below (a red run is a failed fix
  // attempt of the original failure) and the build never gets a fix of its own (decideFix).
  const fixTasks = facts.headBranch ? await fixTasksOfBranch(uow.tx, facts.repository, facts.headBranch) : [];
  if (fixTasks.length > 0) facts = { ...facts, taskIds: mergeIds(facts.taskIds, fixTasks) };
  const completed = facts.status === 'completed' && facts.conclusion !== null;
  const failed = completed && FAILED_CONCLUSIONS.has(facts.conclusion ?? '');
  const completedAt = completed ? (facts.updatedAt ?? new Date()) : null;
  {
    const key = { repository: facts.repository, runId: BigInt(facts.runId), runAttempt: facts.runAttempt };
    const existing = await uow.tx.build.findUnique({ where: { repository_runId_runAttempt: key } });
    // Tasks this report names that the build did not know (the poll, which knows no task ids, saw the run first).
    const newTaskIds = facts.taskIds.filter((id) => !existing?.taskIds.includes(id));
    let build: Build;
    let newlyFailed = false;
    if (!existing) {
      build = await uow.tx.build.create({
        data: {
          ...key,
          workflowName: facts.workflowName,
          event: facts.event,
          headBranch: facts.headBranch,
          headSha: facts.headSha,
          status: facts.status,
          conclusion: completed ? facts.conclusion : null,
          htmlUrl: facts.htmlUrl,
          pullRequests: facts.pullRequests,
          taskIds: facts.taskIds,
          source,
          startedAt: facts.startedAt,
          completedAt,
          logState: failed ? 'PENDING' : 'NOT_NEEDED',
        },
      });
      newlyFailed = failed;
    } else if (existing.completedAt === null) {
      // Conditional: of two concurrent reports of the completion, one moves the build.
      const moved = await uow.tx.build.updateMany({
        where: { id: existing.id, completedAt: null },
        data: {
          status: facts.status,
          conclusion: completed ? facts.conclusion : null,
          completedAt,
          startedAt: existing.startedAt ?? facts.startedAt,
          taskIds: mergeIds(existing.taskIds, facts.taskIds),
          logState: failed ? 'PENDING' : 'NOT_NEEDED',
        },
      });
      newlyFailed = failed && moved.count === 1;
      build = await uow.tx.build.findUniqueOrThrow({ where: { id: existing.id } });
    } else {
      build = existing;
      if (newTaskIds.length > 0)
        build = await uow.tx.build.update({
          where: { id: existing.id },
          data: { taskIds: mergeIds(existing.taskIds, facts.taskIds) },
        });
    }
    if (facts.headBranch)
      await noteBranchHead(deps, uow.tx, facts.repository, facts.headBranch, facts.headSha, facts.startedAt);
    // A run concludes its tasks' fixes when it completes (every task the build knows, also from an earlier report
    // when the poll, which knows no task ids, reports the completion), and a task learnt after that (the webhook's
    // event of a run the poll recorded first) with the run's final conclusion.
    const concluding = !existing?.completedAt ? (completed ? build.taskIds : []) : newTaskIds;
    if (concluding.length > 0)
      await concludeFixesOfTasks(
        deps,
        uow.tx,
        concluding,
        build.conclusion ?? '',
        build.completedAt ?? completedAt ?? new Date(),
      );
    const changed = build;
    if (!existing || changed.updatedAt.getTime() !== existing.updatedAt.getTime())
      uow.afterCommit(() => publishBuildChanged(deps, changed));
    return { build, newlyFailed };
  }
}

function mergeIds(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].slice(0, 100);
}

/**
 * Remembers the newest commit seen on a branch (pushes, runs): a fix is asked only for it, and pending fixes for
 * an older commit are superseded (their tasks cancelled through FixSuperseded).
 */
export async function noteBranchHead(
  deps: CicdDeps,
  tx: Tx,
  repository: string,
  branch: string,
  headSha: string,
  seenAt: Date | null,
): Promise<void> {
  const at = seenAt ?? new Date();
  const current = await tx.branchHead.findUnique({ where: { repository_branch: { repository, branch } } });
  if (current && (current.headSha === headSha || current.seenAt > at)) return;
  await tx.branchHead.upsert({
    where: { repository_branch: { repository, branch } },
    create: { repository, branch, headSha, seenAt: at },
    update: { headSha, seenAt: at },
  });
  await supersedePendingFixes(deps, tx, repository, branch, headSha);
}
