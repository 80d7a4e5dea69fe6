import { builder } from '../builder.js';
import type { Branch, RepositoryPermissions } from '../domain/repositories.js';
import type { PullRequest, PullRequestJob, Repository } from '../generated/prisma/client.js';

/** Object refs, declared apart from their implementations (which refer to each other). */
export const RepositoryRef = builder.objectRef<Repository>('Repository');
export const PullRequestRef = builder.objectRef<PullRequest>('PullRequest');
export const BranchRef = builder.objectRef<Branch>('Branch');
export const RepositoryPermissionsRef = builder.objectRef<RepositoryPermissions>('RepositoryPermissions');
export const PullRequestJobRef = builder.objectRef<PullRequestJob>('PullRequestJob');
