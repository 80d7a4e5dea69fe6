import { codedError, ErrorCode, policyDirectives } from '@cap/runtime';
import { cursorPart } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { changePullRequest, findReadablePullRequest } from '../domain/pullRequestChanges.js';
import { readablePullRequestJob } from '../domain/pullRequestJobAccess.js';
import { assertReadable } from '../domain/repositories.js';
import { MergeMethodEnum, PullRequestJobStatusEnum, PullRequestStateEnum } from './enums.js';
import { PullRequestJobRef, PullRequestRef, RepositoryRef } from './refs.js';

PullRequestRef.implement({
  description:
    'A pull request on a connected repository (opened by the platform for a task, or seen on GitHub).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    number: t.exposeInt('number', { description: 'Its number on GitHub.' }),
    url: t.exposeString('url', { description: 'Its page on GitHub.' }),
    title: t.exposeString('title', { description: 'Title.' }),
    state: t.expose('state', { type: PullRequestStateEnum, description: 'Open, closed or merged.' }),
    draft: t.exposeBoolean('draft', { description: 'Whether it is a draft.' }),
    headBranch: t.exposeString('headBranch', { description: 'The branch with the changes.' }),
    headSha: t.exposeString('headSha', { nullable: true, description: 'The head commit.' }),
    baseBranch: t.exposeString('baseBranch', { description: 'The branch it merges into.' }),
    mergeable: t.exposeBoolean('mergeable', {
      nullable: true,
      description: 'Whether GitHub can merge it; null while GitHub computes it.',
    }),
    checks: t.exposeString('checksConclusion', {
      nullable: true,
      description: 'Conclusion of its latest completed check suite (SUCCESS, FAILURE...); null before any.',
    }),
    taskId: t.exposeID('taskId', { nullable: true, description: 'The coding task it was opened for.' }),
    repository: t.field({
      type: RepositoryRef,
      description: 'Its repository.',
      resolve: async (pr, _args, ctx) =>
        assertReadable(
          ctx.principal,
          await ctx.deps.prisma.repository.findUniqueOrThrow({ where: { id: pr.repositoryId } }),
        ),
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change the platform saw.' }),
  }),
});

builder.asEntity(PullRequestRef, {
  key: builder.selection<{ id: string }>('id'),
  // A pull request on a repository the caller may not see is null, as if it did not exist.
  resolveReference: async ({ id }, ctx) => {
    const uuid = cursorPart.uuid(String(id));
    return uuid ? findReadablePullRequest(ctx.deps, ctx.principal, { id: uuid }) : null;
  },
});

PullRequestJobRef.implement({
  description: 'The platform’s work on a task’s pull request: pending, done, or failed with the reason.',
  fields: (t) => ({
    status: t.expose('status', { type: PullRequestJobStatusEnum, description: 'Where it stands.' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made for the task’s latest run.' }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last attempt failed (or why nothing was opened); null after a success.',
    }),
    errorCode: t.exposeString('errorCode', {
      nullable: true,
      description:
        'The coded error of the last failure (NOT_FOUND, GITHUB_NOT_CONFIGURED, GITHUB_UNAVAILABLE).',
    }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      description: 'When a pending job is tried next.',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change.' }),
  }),
});

/** Orchestration's `CodingTask`: this subgraph adds the task's pull request. */
const CodingTaskRef = builder.objectRef<{ id: string }>('CodingTask');
CodingTaskRef.implement({
  // Orchestration's wording: composition keeps one description per type.
  description: 'A unit of work for the coding agent: what to do, where, and how far it got.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    pullRequest: t.field({
      type: PullRequestRef,
      nullable: true,
      description:
        'The pull request opened for the task, once its work was pushed to a connected repository.',
      directives: policyDirectives.requiresScopes('repos:read'),
      resolve: (task, _args, ctx) =>
        cursorPart.uuid(task.id)
          ? findReadablePullRequest(ctx.deps, ctx.principal, { taskId: task.id })
          : null,
    }),
    pullRequestJob: t.field({
      type: PullRequestJobRef,
      nullable: true,
      description:
        'The platform’s work on the task’s pull request (null when the task needs none: a local repository or nothing pushed).',
      directives: policyDirectives.requiresScopes('repos:read'),
      resolve: (task, _args, ctx) =>
        cursorPart.uuid(task.id) ? readablePullRequestJob(ctx.deps, ctx.principal, task.id) : null,
    }),
  }),
});
builder.asEntity(CodingTaskRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference) => reference,
});

function pullRequestId(value: string | number): string {
  const id = cursorPart.uuid(String(value));
  if (!id)
    throw codedError(ErrorCode.BAD_USER_INPUT, 'id is not a pull request id.', {
      field: 'id',
      expected: 'a UUID',
    });
  return id;
}

builder.mutationFields((t) => ({
  mergePullRequest: t.field({
    type: PullRequestRef,
    description: 'Merges a pull request on GitHub.',
    directives: { ...policyDirectives.requiresScopes('repos:write'), ...policyDirectives.cost(20) },
    args: {
      id: t.arg.id({ required: true, description: 'The pull request’s id.' }),
      method: t.arg({
        type: MergeMethodEnum,
        defaultValue: 'squash',
        description: 'How to merge (default SQUASH).',
      }),
    },
    resolve: (_root, args, ctx) =>
      changePullRequest(ctx.deps, ctx.principal, pullRequestId(args.id), {
        kind: 'merge',
        method: args.method ?? 'squash',
      }),
  }),
  closePullRequest: t.field({
    type: PullRequestRef,
    description: 'Closes a pull request without merging it.',
    directives: { ...policyDirectives.requiresScopes('repos:write'), ...policyDirectives.cost(10) },
    args: { id: t.arg.id({ required: true, description: 'The pull request’s id.' }) },
    resolve: (_root, args, ctx) =>
      changePullRequest(ctx.deps, ctx.principal, pullRequestId(args.id), { kind: 'close' }),
  }),
  reopenPullRequest: t.field({
    type: PullRequestRef,
    description: 'Reopens a closed pull request.',
    directives: { ...policyDirectives.requiresScopes('repos:write'), ...policyDirectives.cost(10) },
    args: { id: t.arg.id({ required: true, description: 'The pull request’s id.' }) },
    resolve: (_root, args, ctx) =>
      changePullRequest(ctx.deps, ctx.principal, pullRequestId(args.id), { kind: 'reopen' }),
  }),
}));
