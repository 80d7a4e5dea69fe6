import { policyDirectives } from '@cap/runtime';
import { resolvePageSize } from '@cap/runtime/kit';
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { watchBuilds } from '../domain/buildFeed.js';
import { BUILDS_PAGE, encodeBuildCursor, findBuildPage } from '../domain/buildQueries.js';
import { parseBranch, parseId, parseRepository, requireRepoReader } from '../domain/policies.js';
import type { Build } from '../generated/prisma/client.js';
import { BuildStateEnum, LogStateEnum } from './enums.js';
import { BuildFailureRef, BuildJobRef, BuildRef, FixAttemptRef } from './refs.js';

/** Jobs and failures a build lists at most (the processor keeps at most CI_MAX_JOBS_PER_RUN jobs). */
const LIST_SIZE = 20;

const BuildStepRef = builder
  .objectRef<{
    name: string;
    number: number;
    status: string;
    conclusion: string | null;
    startedAt: string | null;
    completedAt: string | null;
  }>('BuildStep')
  .implement({
    description: 'A step of a job, as GitHub lists it.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'The step name.' }),
      number: t.exposeInt('number', { description: '1-based position in the job.' }),
      status: t.exposeString('status', { description: "GitHub's status (lower case)." }),
      conclusion: t.exposeString('conclusion', { nullable: true, description: "GitHub's conclusion." }),
      startedAt: t.string({ nullable: true, description: 'ISO time.', resolve: (s) => s.startedAt }),
      completedAt: t.string({ nullable: true, description: 'ISO time.', resolve: (s) => s.completedAt }),
    }),
  });

const durationMs = (start: Date | null, end: Date | null): number | null =>
  start && end ? Math.max(0, end.getTime() - start.getTime()) : null;

BuildJobRef.implement({
  description: 'A job of a build.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    jobId: t.string({ description: "GitHub's job id.", resolve: (job) => job.jobId.toString() }),
    name: t.exposeString('name', { description: 'The job name.' }),
    status: t.exposeString('status', { description: "GitHub's status (lower case)." }),
    conclusion: t.exposeString('conclusion', {
      nullable: true,
      description: "GitHub's conclusion (lower case).",
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it started.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
    durationMs: t.int({
      nullable: true,
      description: 'Run time, ms.',
      resolve: (job) => durationMs(job.startedAt, job.completedAt),
    }),
    steps: t.field({
      type: [BuildStepRef],
      description: 'Its steps in order.',
      directives: policyDirectives.listSize(LIST_SIZE),
      resolve: (job) => (Array.isArray(job.steps) ? (job.steps as never[]) : []),
    }),
  }),
});

BuildFailureRef.implement({
  description: 'A failure parsed from a job log.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    job: t.exposeString('job', { nullable: true, description: 'The job it was printed in.' }),
    tool: t.exposeString('tool', {
      description: 'The tool that reported it (tsc, eslint, vitest, ... generic).',
    }),
    file: t.exposeString('file', { nullable: true, description: 'Repository-relative file.' }),
    line: t.exposeInt('line', { nullable: true, description: '1-based line.' }),
    column: t.exposeInt('column', { nullable: true, description: '1-based column.' }),
    testName: t.exposeString('testName', { nullable: true, description: 'The failing test.' }),
    message: t.exposeString('message', { description: 'What the tool said.' }),
    excerpt: t.exposeString('excerpt', { description: 'The relevant log lines.' }),
    fingerprint: t.exposeString('fingerprint', {
      description: 'Stable across runs: tool + normalised message + place.',
    }),
    occurrences: t.exposeInt('occurrences', { description: 'How often it appeared in the job.' }),
  }),
});

BuildRef.implement({
  description: 'One attempt of a GitHub Actions workflow run.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    repository: t.exposeString('repository', { description: '`owner/name`, lower case.' }),
    runId: t.string({ description: "GitHub's run id.", resolve: (build) => build.runId.toString() }),
    runAttempt: t.exposeInt('runAttempt', { description: 'The attempt (re-runs count up).' }),
    workflowName: t.exposeString('workflowName', { nullable: true, description: 'The workflow.' }),
    event: t.exposeString('event', { description: 'What triggered it (push, pull_request...).' }),
    headBranch: t.exposeString('headBranch', { nullable: true, description: 'The branch.' }),
    headSha: t.exposeString('headSha', { description: 'The commit.' }),
    status: t.exposeString('status', { description: "GitHub's status (lower case)." }),
    conclusion: t.exposeString('conclusion', {
      nullable: true,
      description: 'SUCCESS, FAILURE, ... (upper case).',
    }),
    url: t.exposeString('htmlUrl', { description: 'The run on GitHub.' }),
    source: t.exposeString('source', { description: 'Which path saw it first: WEBHOOK or POLL.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it started.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it ended.' }),
    durationMs: t.int({
      nullable: true,
      description: 'Run time, ms.',
      resolve: (build) => durationMs(build.startedAt, build.completedAt),
    }),
    logState: t.field({
      type: LogStateEnum,
      description: 'Whether its logs were read.',
      resolve: (b) => b.logState,
    }),
    parseErrorCode: t.exposeString('parseErrorCode', {
      nullable: true,
      description: 'Why a log could not be read (CI_LOG_NOT_TEXT, CI_LOG_TOO_LARGE, GITHUB_UNAVAILABLE...).',
    }),
    parseError: t.exposeString('parseError', { nullable: true, description: 'The parse error, for people.' }),
    jobs: t.field({
      type: [BuildJobRef],
      description: 'Its jobs (read when it failed).',
      directives: policyDirectives.listSize(LIST_SIZE),
      resolve: (build, _args, ctx) =>
        ctx.deps.prisma.buildJob.findMany({
          where: { buildId: build.id },
          orderBy: { jobId: 'asc' },
          take: 200,
        }),
    }),
    failures: t.field({
      type: [BuildFailureRef],
      description: 'The failures parsed from its logs.',
      directives: policyDirectives.listSize(LIST_SIZE),
      resolve: (build, _args, ctx) =>
        ctx.deps.prisma.buildFailure.findMany({
          where: { buildId: build.id },
          orderBy: { id: 'asc' },
          take: 200,
        }),
    }),
    fix: t.field({
      type: FixAttemptRef,
      nullable: true,
      description: 'What was decided about fixing it.',
      resolve: (build, _args, ctx) => ctx.deps.prisma.fixAttempt.findUnique({ where: { buildId: build.id } }),
    }),
  }),
});

builder.queryFields((t) => ({
  build: t.field({
    type: BuildRef,
    nullable: true,
    description: 'A build by id, with its jobs and parsed failures (`repos:read`).',
    directives: policyDirectives.requiresScopes('repos:read'),
    args: { id: t.arg.id({ required: true, description: 'The build id.' }) },
    resolve: (_root, args, ctx) => {
      requireRepoReader(ctx.principal);
      return ctx.deps.prisma.build.findUnique({ where: { id: parseId(String(args.id)) } });
    },
  }),
  builds: t.connection({
    type: BuildRef,
    description: `A repository's builds, newest first; pages of ${BUILDS_PAGE.default} (at most ${BUILDS_PAGE.max}).`,
    directives: {
      ...policyDirectives.requiresScopes('repos:read'),
      ...policyDirectives.connectionSize(BUILDS_PAGE.default),
    },
    args: {
      repository: t.arg.string({ required: true, description: '`owner/name`.' }),
      branch: t.arg.string({ required: false, description: 'Only this branch.' }),
      status: t.arg({ type: BuildStateEnum, required: false, description: 'Only builds in this state.' }),
    },
    resolve: (_root, args, ctx) => {
      requireRepoReader(ctx.principal);
      const repository = parseRepository(args.repository);
      resolvePageSize(args, BUILDS_PAGE);
      return resolveCursorConnection(
        {
          args,
          defaultSize: BUILDS_PAGE.default,
          maxSize: BUILDS_PAGE.max,
          toCursor: (build: Build) => encodeBuildCursor(build),
        },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
          findBuildPage(
            ctx.deps.prisma,
            { repository, branch: args.branch, state: args.status },
            { after, before, limit, inverted },
          ),
      );
    },
  }),
}));

builder.subscriptionFields((t) => ({
  buildStatusChanged: t.field({
    type: BuildRef,
    description:
      "A repository's builds (of one branch, when given) after every change from now on: recorded, running, completed, logs parsed (`repos:read`). Never an older state of a build than one already sent.",
    directives: policyDirectives.requiresScopes('repos:read'),
    args: {
      repository: t.arg.string({ required: true, description: '`owner/name`.' }),
      branch: t.arg.string({ required: false, description: 'Only this branch.' }),
    },
    subscribe: (_root, args, ctx) => {
      requireRepoReader(ctx.principal);
      const repository = parseRepository(args.repository);
      const branch = args.branch === null || args.branch === undefined ? null : parseBranch(args.branch);
      return watchBuilds(ctx.deps, { repository, branch });
    },
    resolve: (build) => build,
  }),
}));
