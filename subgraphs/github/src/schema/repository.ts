import { codedError, ErrorCode, policyDirectives } from '@cap/runtime';
import {
  createCursorCodec,
  createInstantIdCursorCodec,
  cursorPart,
  pageSize,
  resolvePageSize,
  assertForwardOnly,
} from '@cap/runtime/kit';
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import {
  assertReadable,
  connectRepository,
  disconnectRepository,
  findReadableRepository,
  findReadableRepositoryById,
  findRepositoryPage,
  listBranches,
  repositoryPermissions,
} from '../domain/repositories.js';
import { mayReadRepository } from '../domain/repositoryAccessRules.js';
import { githubAuthorizeUrl } from '../domain/oauth.js';
import type { Repository } from '../generated/prisma/client.js';
import { RepositoryAccessEnum, RepositoryVisibilityEnum } from './enums.js';
import { BranchRef, PullRequestRef, RepositoryPermissionsRef, RepositoryRef } from './refs.js';

const REPOSITORIES_PAGE = pageSize({ default: 20, max: 100 });
const BRANCHES_PAGE = pageSize({ default: 30, max: 100 });
const repositoryCursor = createInstantIdCursorCodec('repositories', 'a cursor from repositories');
/** Branches page as GitHub does (page numbers); the cursor carries the next page. */
const branchCursor = createCursorCodec<number>({
  kind: 'branches',
  expected: 'a cursor from branches',
  toParts: (page) => [page],
  fromParts: ([page, ...rest]) => (rest.length === 0 ? cursorPart.integer(page, 1, 10_000) : null),
});
/** What asking GitHub costs (one REST call). */
const GITHUB_CALL_COST = 10;

BranchRef.implement({
  description: 'A branch of a repository, as GitHub lists it.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Branch name.' }),
    sha: t.exposeString('sha', { description: 'Head commit.' }),
    protected: t.exposeBoolean('protected', { description: 'Whether branch protection applies.' }),
  }),
});

RepositoryPermissionsRef.implement({
  description: 'What the platform’s credential may do on a repository.',
  fields: (t) => ({
    admin: t.exposeBoolean('admin', { description: 'Administer it.' }),
    push: t.exposeBoolean('push', { description: 'Push branches (needed for the agent’s work).' }),
    pull: t.exposeBoolean('pull', { description: 'Clone and read it.' }),
  }),
});

RepositoryRef.implement({
  description: 'A GitHub repository connected to the platform: tasks may name it as `owner/name`.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    owner: t.exposeString('owner', { description: 'The account that owns it.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    fullName: t.string({ description: '`owner/name`.', resolve: (r) => `${r.owner}/${r.name}` }),
    url: t.exposeString('htmlUrl', { description: 'Its page on GitHub.' }),
    defaultBranch: t.exposeString('defaultBranch', { description: 'Pull requests target this branch.' }),
    visibility: t.expose('visibility', { type: RepositoryVisibilityEnum, description: 'Who can see it.' }),
    access: t.expose('access', { type: RepositoryAccessEnum, description: 'How the platform reaches it.' }),
    connectedAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was connected.' }),
    permissions: t.field({
      type: RepositoryPermissionsRef,
      description: 'What the platform’s credential may do on it (asked from GitHub).',
      directives: policyDirectives.cost(GITHUB_CALL_COST),
      resolve: (repository, _args, ctx) =>
        repositoryPermissions(ctx.deps, assertReadable(ctx.principal, repository)),
    }),
    branches: t.connection({
      type: BranchRef,
      description: `Its branches, from GitHub; pages of ${BRANCHES_PAGE.default} (at most ${BRANCHES_PAGE.max}), forward only.`,
      directives: {
        ...policyDirectives.cost(GITHUB_CALL_COST),
        ...policyDirectives.connectionSize(BRANCHES_PAGE.default),
      },
      resolve: async (repository, args, ctx) => {
        assertForwardOnly(args);
        const perPage = resolvePageSize(args, BRANCHES_PAGE);
        const page = args.after ? branchCursor.decode(args.after) : 1;
        const { branches, hasNextPage } = await listBranches(
          ctx.deps,
          assertReadable(ctx.principal, repository),
          {
            page,
            perPage,
          },
        );
        return {
          edges: branches.map((node, index) => ({
            node,
            cursor: index === branches.length - 1 ? branchCursor.encode(page + 1) : branchCursor.encode(page),
          })),
          pageInfo: {
            hasNextPage,
            hasPreviousPage: page > 1,
            startCursor: branches.length > 0 ? branchCursor.encode(page) : null,
            endCursor: branches.length > 0 ? branchCursor.encode(page + 1) : null,
          },
        };
      },
    }),
    pullRequests: t.field({
      type: [PullRequestRef],
      description: 'Pull requests the platform knows on it, newest first (at most 100).',
      directives: policyDirectives.listSize(100),
      resolve: (repository, _args, ctx) =>
        !mayReadRepository(ctx.principal, repository)
          ? []
          : ctx.deps.prisma.pullRequest.findMany({
              where: { repositoryId: repository.id },
              orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
              take: 100,
            }),
    }),
  }),
});

builder.asEntity(RepositoryRef, {
  key: builder.selection<{ id: string }>('id'),
  // Another subgraph's reference is answered like a query: a repository the caller may not see is null.
  resolveReference: ({ id }, ctx) => {
    const uuid = cursorPart.uuid(String(id));
    return uuid ? findReadableRepositoryById(ctx.deps, ctx.principal, uuid) : null;
  },
});

builder.queryFields((t) => ({
  repositories: t.connection({
    type: RepositoryRef,
    description: `Connected repositories the caller may see (one connected with a user’s own GitHub account: that user and admins), in connection order; pages of ${REPOSITORIES_PAGE.default} (at most ${REPOSITORIES_PAGE.max}).`,
    directives: {
      ...policyDirectives.requiresScopes('repos:read'),
      ...policyDirectives.connectionSize(REPOSITORIES_PAGE.default),
    },
    resolve: (_root, args, ctx) => {
      assertForwardOnly(args);
      resolvePageSize(args, REPOSITORIES_PAGE);
      const after = args.after ? repositoryCursor.decode(args.after) : null;
      return resolveCursorConnection(
        {
          args: { first: args.first ?? REPOSITORIES_PAGE.default, after: args.after },
          defaultSize: REPOSITORIES_PAGE.default,
          maxSize: REPOSITORIES_PAGE.max,
          toCursor: (r: Repository) => repositoryCursor.encode({ at: r.createdAt, id: r.id }),
        },
        ({ limit }: ResolveCursorConnectionArgs) =>
          findRepositoryPage(ctx.deps, ctx.principal, { after, limit }),
      );
    },
  }),
  repository: t.field({
    type: RepositoryRef,
    nullable: true,
    description:
      'The connected repository `owner/name`, or null (also for one connected with another user’s GitHub account).',
    directives: policyDirectives.requiresScopes('repos:read'),
    args: {
      owner: t.arg.string({ required: true, description: 'The owning account.' }),
      name: t.arg.string({ required: true, description: 'The repository name.' }),
    },
    resolve: (_root, args, ctx) => findReadableRepository(ctx.deps, ctx.principal, args.owner, args.name),
  }),
}));

const GithubAuthorizationRef = builder
  .objectRef<{ url: string; expiresAt: Date }>('GithubAuthorization')
  .implement({
    description: 'Where to send the user to connect their GitHub account.',
    fields: (t) => ({
      url: t.exposeString('url', {
        description: 'GitHub’s authorize page; it returns to the OAuth callback.',
      }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'The link works until then, once.' }),
    }),
  });

builder.mutationFields((t) => ({
  connectRepository: t.field({
    type: RepositoryRef,
    description: 'Connects a GitHub repository (GitHub is asked for it with the credential that reaches it).',
    directives: {
      ...policyDirectives.requiresScopes('repos:write'),
      ...policyDirectives.cost(GITHUB_CALL_COST),
    },
    args: {
      owner: t.arg.string({ required: true, description: 'The owning account.' }),
      name: t.arg.string({ required: true, description: 'The repository name.' }),
    },
    resolve: (_root, args, ctx) => connectRepository(ctx.deps, ctx.principal, args),
  }),
  disconnectRepository: t.field({
    type: RepositoryRef,
    description: 'Disconnects a repository; the platform forgets its pull requests.',
    directives: policyDirectives.requiresScopes('repos:write'),
    args: { id: t.arg.id({ required: true, description: 'The repository’s id.' }) },
    resolve: (_root, args, ctx) => {
      const id = cursorPart.uuid(String(args.id));
      if (!id)
        throw codedError(ErrorCode.BAD_USER_INPUT, 'id is not a repository id.', {
          field: 'id',
          expected: 'a UUID',
        });
      return disconnectRepository(ctx.deps, ctx.principal, id);
    },
  }),
  githubAuthorizeUrl: t.field({
    type: GithubAuthorizationRef,
    description: 'Starts connecting the caller’s GitHub account (OAuth): the link to open, valid once.',
    directives: policyDirectives.requiresScopes('repos:write'),
    resolve: (_root, _args, ctx) => githubAuthorizeUrl(ctx.deps, ctx.principal),
  }),
}));
