import { codedError, ErrorCode, policyDirectives } from '@cap/runtime';
import { cursorPart } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { findRepository } from '../domain/repositories.js';
import { mayReadRepository } from '../domain/repositoryAccessRules.js';
import {
  PullRequestAction,
  watchPullRequests,
  type PullRequestChange,
  type PullRequestScope,
} from '../live/pullRequestLive.js';
import type { GithubContext } from '../context.js';
import { PullRequestRef } from './refs.js';

const PullRequestActionEnum = builder.enumType('PullRequestAction', {
  description: 'What happened to a pull request.',
  values: {
    [PullRequestAction.OPENED]: { description: 'Opened (by the platform for a task, or on GitHub).' },
    [PullRequestAction.UPDATED]: { description: 'Title, body, head or state changed (also: reopened).' },
    [PullRequestAction.CHECKS]: { description: 'Its check suite completed (`checks`).' },
    [PullRequestAction.REVIEWED]: { description: 'A review was submitted.' },
    [PullRequestAction.MERGED]: { description: 'Merged.' },
    [PullRequestAction.CLOSED]: { description: 'Closed without being merged.' },
  } as const,
});

const PullRequestUpdateRef = builder.objectRef<PullRequestChange>('PullRequestUpdate').implement({
  description: 'A change of a pull request, with its state after the change.',
  fields: (t) => ({
    action: t.expose('action', { type: PullRequestActionEnum, description: 'What happened.' }),
    pullRequest: t.field({
      type: PullRequestRef,
      description: 'The pull request as it is after the change.',
      resolve: (change) => change.pullRequest,
    }),
  }),
});

/** The feed's scope from the arguments: a repository (`owner` and `name`) or a task, never both. */
async function scopeOf(
  ctx: GithubContext,
  args: { owner?: string | null; name?: string | null; taskId?: string | number | null },
): Promise<PullRequestScope> {
  const byRepository = args.owner != null || args.name != null;
  const byTask = args.taskId != null;
  if (byRepository === byTask)
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Give either owner and name, or taskId.', {
      expected: 'owner and name, or taskId',
    });
  if (byTask) {
    const taskId = cursorPart.uuid(String(args.taskId));
    if (!taskId)
      throw codedError(ErrorCode.BAD_USER_INPUT, 'taskId is not a task id.', {
        field: 'taskId',
        expected: 'a UUID',
      });
    return { taskId };
  }
  const repository = await findRepository(ctx.deps, args.owner ?? '', args.name ?? '');
  // A repository the caller may not read does not exist for them (the same answer as an unknown one).
  if (!repository || !mayReadRepository(ctx.principal, repository))
    throw codedError(ErrorCode.NOT_FOUND, 'No connected repository has this name.');
  return { repositoryId: repository.id };
}

builder.subscriptionFields((t) => ({
  pullRequestUpdated: t.field({
    type: PullRequestUpdateRef,
    description:
      'Live changes of the pull requests of a repository (`owner` and `name`) or of a task (`taskId`): opened, updated, checks completed, reviewed, merged, closed; each with the pull request’s state after the change.',
    directives: policyDirectives.requiresScopes('repos:read'),
    args: {
      owner: t.arg.string({ required: false, description: 'The repository’s owner (with `name`).' }),
      name: t.arg.string({ required: false, description: 'The repository’s name (with `owner`).' }),
      taskId: t.arg.id({ required: false, description: 'A coding task (instead of a repository).' }),
    },
    subscribe: async (_root, args, ctx) =>
      watchPullRequests(ctx.deps, await scopeOf(ctx, args), (repository) =>
        mayReadRepository(ctx.principal, repository),
      ),
    resolve: (change) => change,
  }),
}));
