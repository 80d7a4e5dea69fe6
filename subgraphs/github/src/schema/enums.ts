import { builder } from '../builder.js';

export const RepositoryVisibilityEnum = builder.enumType('RepositoryVisibility', {
  description: 'Who can see a repository on GitHub.',
  values: {
    PUBLIC: { description: 'Anyone.' },
    PRIVATE: { description: 'Only people and apps given access.' },
    INTERNAL: { description: 'Members of the enterprise.' },
  } as const,
});

export const RepositoryAccessEnum = builder.enumType('RepositoryAccess', {
  description: 'Which credential the platform reaches a repository with.',
  values: {
    APP: { description: 'The GitHub App installation covering it.' },
    TOKEN: { description: 'The configured personal access token.' },
    OAUTH: { description: 'The OAuth token of the user who connected it.' },
  } as const,
});

export const PullRequestStateEnum = builder.enumType('PullRequestState', {
  description: 'Where a pull request stands.',
  values: {
    OPEN: { description: 'Open for review.' },
    CLOSED: { description: 'Closed without being merged.' },
    MERGED: { description: 'Merged.' },
  } as const,
});

export const MergeMethodEnum = builder.enumType('MergeMethod', {
  description: 'How a pull request is merged.',
  values: {
    MERGE: { value: 'merge', description: 'A merge commit.' },
    SQUASH: { value: 'squash', description: 'One squashed commit.' },
    REBASE: { value: 'rebase', description: 'The commits rebased onto the base branch.' },
  } as const,
});

export const PullRequestJobStatusEnum = builder.enumType('PullRequestJobStatus', {
  description: 'Where the platform stands with opening or updating a task’s pull request.',
  values: {
    PENDING: { description: 'Waiting for its (next) attempt.' },
    DONE: { description: 'The pull request is open or updated.' },
    FAILED: { description: 'Given up: `lastError` says why (a permanent failure, or out of attempts).' },
  } as const,
});
