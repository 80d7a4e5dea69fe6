import { FixEscalated, FixRequested, type FixFailure } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { Build, BuildFailure, FixAttempt, FixStatus } from '../generated/prisma/client.js';
import { branchSelected } from './branchGlob.js';
import { isFixBranch } from './fixBranches.js';
import { EVENT_SOURCE, type CicdDeps, type Tx } from './deps.js';
import { requireRepoWriter } from './policies.js';

/** Failed fixes of a fingerprint after which it goes to a person (issue #14: "failed to be fixed twice"). */
export const FAILED_FIXES_BEFORE_ESCALATION = 2;
/** Failures a fix request carries at most (the task's description is built from them). */
const MAX_FAILURES_PER_FIX = 20;

/** Statuses that count as an attempt (for the caps). */
const COUNTED: FixStatus[] = ['SUGGESTED', 'REQUESTED', 'FIXED', 'ACCEPTED', 'FAILED'];

/**
 * Decides what to do about a failed build whose failures were just parsed, in the caller's transaction: nothing
 * (no policy, OFF, branch not selected, no failures, a run on a fix's own pull request or branch), SUPERSEDED (a newer commit
 * is on the branch), ESCALATED (a fingerprint already failed to be fixed twice, or a cap is reached: FixEscalated,
 * no task), SUGGESTED (waits for `approveFix`) or REQUESTED (FixRequested: orchestration creates the task).
 * At most one decision per build (unique `build_id`).
 */
export async function decideFix(
  deps: CicdDeps,
  tx: Tx,
  build: Build,
  failures: readonly BuildFailure[],
): Promise<FixAttempt | null> {
  if (!build.headBranch || failures.length === 0 || build.taskIds.length > 0) return null;
  const policy = await tx.fixPolicy.findUnique({ where: { repository: build.repository } });
  if (!policy || policy.mode === 'OFF' || !branchSelected(policy.branches, build.headBranch)) return null;
  // Never a fix of a fix: the agent's branches and fixes' pull request branches, whatever the globs (`agent/*`, `*`).
  if (await isFixBranch(tx, build.repository, build.headBranch)) return null;
  if (await tx.fixAttempt.findUnique({ where: { buildId: build.id } })) return null;

  const fingerprints = [...new Set(failures.map((failure) => failure.fingerprint))].slice(
    0,
    MAX_FAILURES_PER_FIX,
  );
  const base = {
    buildId: build.id,
    repository: build.repository,
    branch: build.headBranch,
    headSha: build.headSha,
    pullRequest: build.pullRequests[0] ?? null,
    fingerprints,
    requestedBy: policy.enabledBy,
    failedAt: build.completedAt ?? new Date(),
  };
  const head = await tx.branchHead.findUnique({
    where: { repository_branch: { repository: build.repository, branch: build.headBranch } },
  });
  if (head && head.headSha !== build.headSha)
    return tx.fixAttempt.create({
      data: {
        ...base,
        status: 'SUPERSEDED',
        reason: `a newer commit (${head.headSha.slice(0, 12)}) is on the branch`,
      },
    });

  const sameFingerprint = { repository: build.repository, fingerprints: { hasSome: fingerprints } };
  const failedFixes = await tx.fixAttempt.count({ where: { ...sameFingerprint, status: 'FAILED' } });
  const fingerprintAttempts = await tx.fixAttempt.count({
    where: { ...sameFingerprint, status: { in: COUNTED } },
  });
  const pullAttempts =
    base.pullRequest === null
      ? 0
      : await tx.fixAttempt.count({
          where: { repository: build.repository, pullRequest: base.pullRequest, status: { in: COUNTED } },
        });
  const reason =
    failedFixes >= FAILED_FIXES_BEFORE_ESCALATION
      ? `the failure already failed to be fixed ${failedFixes} times`
      : fingerprintAttempts >= policy.maxAttemptsPerFingerprint
        ? `the failure reached its cap of ${policy.maxAttemptsPerFingerprint} fix attempts`
        : pullAttempts >= policy.maxAttemptsPerPullRequest
          ? `pull request #${base.pullRequest} reached its cap of ${policy.maxAttemptsPerPullRequest} fix attempts`
          : null;
  if (reason) {
    const attempt = await tx.fixAttempt.create({ data: { ...base, status: 'ESCALATED', reason } });
    await deps.events.record(tx, [
      FixEscalated.create(
        {
          fixId: attempt.id,
          repository: attempt.repository,
          branch: attempt.branch,
          headSha: attempt.headSha,
          fingerprints,
          reason,
        },
        { source: EVENT_SOURCE, aggregateId: attempt.id },
      ),
    ]);
    return attempt;
  }
  const attempt = await tx.fixAttempt.create({
    data: { ...base, status: policy.mode === 'AUTO' ? 'REQUESTED' : 'SUGGESTED' },
  });
  if (attempt.status === 'REQUESTED') await requestFix(deps, tx, attempt, build, failures, policy.enabledBy);
  return attempt;
}

async function requestFix(
  deps: CicdDeps,
  tx: Tx,
  attempt: FixAttempt,
  build: Build,
  failures: readonly BuildFailure[],
  requestedBy: string,
): Promise<void> {
  const seen = new Set<string>();
  const carried: FixFailure[] = [];
  for (const failure of failures) {
    if (seen.has(failure.fingerprint) || carried.length >= MAX_FAILURES_PER_FIX) continue;
    seen.add(failure.fingerprint);
    carried.push({
      tool: failure.tool.slice(0, 50),
      file: failure.file?.slice(0, 1_000) ?? null,
      line: failure.line && failure.line > 0 ? failure.line : null,
      testName: failure.testName?.slice(0, 1_000) ?? null,
      message: failure.message.slice(0, 4_000),
      excerpt: failure.excerpt.slice(0, 8_000),
      fingerprint: failure.fingerprint,
      job: failure.job?.slice(0, 500) ?? null,
    });
  }
  await deps.events.record(tx, [
    FixRequested.create(
      {
        fixId: attempt.id,
        repository: attempt.repository,
        branch: attempt.branch,
        headSha: attempt.headSha,
        requestedBy,
        runId: Number(build.runId),
        runUrl: build.htmlUrl,
        workflowName: build.workflowName,
        failures: carried,
      },
      { source: EVENT_SOURCE, aggregateId: attempt.id },
    ),
  ]);
}

/**
 * A person's go for a SUGGESTED fix (`repos:write`): it becomes REQUESTED on their behalf, unless a newer commit
 * superseded it. @throws {GraphQLError} NOT_FOUND, FORBIDDEN, CONFLICT (not SUGGESTED any more)
 */
export async function approveFix(deps: CicdDeps, principal: Principal, id: string): Promise<FixAttempt> {
  const caller = requireRepoWriter(principal);
  return inTransaction(deps, async (uow) => {
    const attempt = await uow.tx.fixAttempt.findUnique({ where: { id } });
    if (!attempt) throw codedError(ErrorCode.NOT_FOUND, 'No such fix.', { id });
    const moved = await uow.tx.fixAttempt.updateMany({
      where: { id, status: 'SUGGESTED' },
      data: { status: 'REQUESTED', requestedBy: caller },
    });
    if (moved.count === 0)
      throw codedError(ErrorCode.CONFLICT, `The fix is ${attempt.status}, not SUGGESTED.`, {
        status: attempt.status,
      });
    const build = await uow.tx.build.findUniqueOrThrow({ where: { id: attempt.buildId } });
    const failures = await uow.tx.buildFailure.findMany({
      where: { buildId: build.id },
      orderBy: { id: 'asc' },
    });
    const updated = await uow.tx.fixAttempt.findUniqueOrThrow({ where: { id } });
    await requestFix(deps, uow.tx, updated, build, failures, caller);
    return updated;
  });
}
