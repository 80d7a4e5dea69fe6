import type { Tx } from './deps.js';

/**
 * The coding agent's branches: `agent/<first 8 alphanumerics of the task id>` (the agent's own naming). A run on
 * one is the platform's own work, never a failure to fix (it would fix the fix, and so on).
 */
const AGENT_BRANCH = /^agent\/[A-Za-z0-9]{8}$/;

/** The branch the agent pushes a task's work to. */
export function agentBranchOf(taskId: string): string {
  return `agent/${taskId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}`;
}

/** Whether `branch` is named like the agent's branches. */
export function isAgentBranch(branch: string): boolean {
  return AGENT_BRANCH.test(branch);
}

/**
 * The tasks of the fixes whose own branch `branch` is in `repository` (the agent's branch of the fix's task, or
 * its pull request's head): a run there is that fix's run, whichever path reports it (the poll and a push's run
 * name no task). Indexed by (repository, fix_branch).
 */
export async function fixTasksOfBranch(tx: Tx, repository: string, branch: string): Promise<string[]> {
  const fixes = await tx.fixAttempt.findMany({
    where: { repository, fixBranch: branch, taskId: { not: null } },
    select: { taskId: true },
    take: 100,
  });
  return fixes.flatMap((fix) => (fix.taskId ? [fix.taskId] : []));
}

/**
 * Whether a failing run on `branch` must never get a fix of its own: the agent's branches, and any branch a fix
 * works on (a fix's pull request's head), whatever the policy's branch globs say (`agent/*`, `*`).
 */
export async function isFixBranch(tx: Tx, repository: string, branch: string): Promise<boolean> {
  if (isAgentBranch(branch)) return true;
  return (await tx.fixAttempt.count({ where: { repository, fixBranch: branch }, take: 1 })) > 0;
}
