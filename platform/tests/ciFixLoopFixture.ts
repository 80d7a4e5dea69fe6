import type { FakeRun } from '@cap/testkit';

/** What platform/tests/ciFixLoop.test.ts works with: the repository, the graph's operations, runs and job logs. */

export const OWNER = 'acme';
export const NAME = 'widgets';
export const REPOSITORY = `${OWNER}/${NAME}`;
export const WEBHOOK_SECRET = 'webhook-secret-of-the-ci-fix-loop-test';
export const SET_POLICY = `mutation($input: SetFixPolicyInput!) { setFixPolicy(input: $input) { mode branches enabledBy } }`;
export const ME = `query { me { id } }`;
export const BUILDS = `query($r: String!) {
  builds(repository: $r, first: 100) { edges { node { id runId headSha source fix { status taskId } } } }
}`;
export const BUILD = `query($id: ID!) {
  build(id: $id) {
    conclusion logState
    jobs { name conclusion }
    failures { tool file line message fingerprint }
    fix { status reason taskId fixPullRequest }
  }
}`;
export const TASKS = `query { tasks(first: 100) { edges { node { id status title repository } } } }`;
export const TASK = `query($id: ID!) {
  task(id: $id) { status description baseBranch result { branch commitSha error { code message } } pullRequest { number state headBranch baseBranch } }
}`;
export const STATS = `query($r: String) { ciFixStats(repository: $r) { requested fixed failed escalated fixRate } }`;

/** The broken file, and what `tsc --noEmit --pretty false` prints for it. */
export const BROKEN = "export const answer: number = 'forty-two';\n";
export const FIXED = 'export const answer: number = 42;\n';
export const TSC_ERROR =
  "src/index.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.";

/** A file only the branch `feature/x` has, broken, and its fix. */
export const FEATURE_BROKEN = "export const flag: boolean = 'yes';\n";
export const FEATURE_FIXED = 'export const flag: boolean = true;\n';
export const FEATURE_TSC_ERROR =
  "src/feature.ts(1,14): error TS2322: Type 'string' is not assignable to type 'boolean'.";

/** A failing `tsc` step as the GitHub Actions runner writes the job log (timestamps, groups, exit code). */
export function jobLog(errorLine: string): string {
  const at = '2026-12-06T10:00:00.0000000Z';
  return [
    `${at} ##[group]Run npx tsc --noEmit`,
    `${at} \x1b[36;1mnpx tsc --noEmit\x1b[0m`,
    `${at} shell: /usr/bin/bash -e {0}`,
    `${at} ##[endgroup]`,
    `${at} ${errorLine}`,
    `${at} ##[error]Process completed with exit code 2.`,
    '',
  ].join('\n');
}

let nextId = 40_000;
let clock = Date.now() - 10 * 60_000;
/** A completed run (one `typecheck` job) of `branch` at `sha`; each later than the one before. */
export function run(options: {
  branch: string;
  sha: string;
  conclusion: 'success' | 'failure';
  log?: string;
  pullRequests?: number[];
  event?: string;
}): FakeRun {
  clock += 10_000;
  const failed = options.conclusion === 'failure';
  return {
    id: (nextId += 1),
    runAttempt: 1,
    workflowId: 7,
    name: 'CI',
    event: options.event ?? 'push',
    headBranch: options.branch,
    headSha: options.sha,
    status: 'completed',
    conclusion: options.conclusion,
    pullRequests: options.pullRequests ?? [],
    startedAt: new Date(clock).toISOString(),
    updatedAt: new Date(clock + 5_000).toISOString(),
    jobs: [
      {
        id: (nextId += 1),
        name: 'typecheck',
        status: 'completed',
        conclusion: options.conclusion,
        steps: [{ name: 'Run npx tsc --noEmit', number: 1, conclusion: options.conclusion }],
        log: failed ? (options.log ?? jobLog(TSC_ERROR)) : 'ok\n',
      },
    ],
  };
}
