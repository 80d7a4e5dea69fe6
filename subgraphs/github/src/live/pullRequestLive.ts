import {
  ChecksCompleted,
  PullRequestClosed,
  PullRequestMerged,
  PullRequestOpened,
  PullRequestReviewed,
  PullRequestUpdated,
  type Envelope,
} from '@cap/events';
import { interruptible, LiveFeed, type LiveBus } from '@cap/live';
import type { Logger } from '@cap/runtime';
import type { PrismaClient, PullRequest, Repository } from '../generated/prisma/client.js';

/** What happened to a pull request, as `pullRequestUpdated` subscribers see it. */
export const PullRequestAction = {
  OPENED: 'OPENED',
  UPDATED: 'UPDATED',
  CHECKS: 'CHECKS',
  REVIEWED: 'REVIEWED',
  MERGED: 'MERGED',
  CLOSED: 'CLOSED',
} as const;
export type PullRequestAction = (typeof PullRequestAction)[keyof typeof PullRequestAction];

/** The live message: which pull request changed and how (subscribers read its state from the database). */
export interface PullRequestLiveMessage {
  action: PullRequestAction;
  pullRequestId: string;
  repositoryId: string;
  taskId: string | null;
}

/** Live topics: one per repository, one per task. */
export const PullRequestTopic = {
  repository: (repositoryId: string) => `pull-requests:repository:${repositoryId}`,
  task: (taskId: string) => `pull-requests:task:${taskId}`,
};

/** What the live side of the subgraph needs. */
export interface LiveDeps {
  prisma: PrismaClient;
  live: LiveBus;
  logger: Pick<Logger, 'warn'>;
}

const ACTION_OF: Record<string, PullRequestAction> = {
  [PullRequestOpened.type]: PullRequestAction.OPENED,
  [PullRequestUpdated.type]: PullRequestAction.UPDATED,
  [PullRequestReviewed.type]: PullRequestAction.REVIEWED,
  [PullRequestMerged.type]: PullRequestAction.MERGED,
  [PullRequestClosed.type]: PullRequestAction.CLOSED,
};

/**
 * Publishes the pull-request changes among `events` (just committed with them) on the live topics of their
 * repository and task. Checks name pull requests by number; they are looked up. Called after the commit only:
 * a subscriber never hears of a change that rolled back.
 */
export async function publishPullRequestChanges(deps: LiveDeps, events: readonly Envelope[]): Promise<void> {
  const messages: PullRequestLiveMessage[] = [];
  for (const event of events) {
    const action = ACTION_OF[event.type];
    if (action) {
      const facts = event.payload as { pullRequestId: string; repositoryId: string; taskId: string | null };
      messages.push({
        action,
        pullRequestId: facts.pullRequestId,
        repositoryId: facts.repositoryId,
        taskId: facts.taskId,
      });
    } else if (ChecksCompleted.is(event) && event.payload.repositoryId) {
      const pulls = await deps.prisma.pullRequest.findMany({
        where: { repositoryId: event.payload.repositoryId, number: { in: event.payload.pullRequestNumbers } },
        select: { id: true, repositoryId: true, taskId: true },
      });
      for (const pull of pulls)
        messages.push({
          action: PullRequestAction.CHECKS,
          pullRequestId: pull.id,
          repositoryId: pull.repositoryId,
          taskId: pull.taskId,
        });
    }
  }
  for (const message of messages) {
    await deps.live.publish(PullRequestTopic.repository(message.repositoryId), message);
    if (message.taskId) await deps.live.publish(PullRequestTopic.task(message.taskId), message);
  }
}

/** One change as a subscriber receives it. */
export interface PullRequestChange {
  action: PullRequestAction;
  pullRequest: PullRequest;
}

/** Whose pull requests a feed follows. */
export type PullRequestScope = { repositoryId: string } | { taskId: string };

/**
 * The pull-request changes of a repository or a task from now on, each with the pull request's state read after
 * the change. `mayRead` is asked for every pull request's repository before it is emitted (a task's pull request
 * on a repository the subscriber may not read is never shown). After a gap in the live transport, the pull
 * requests of the scope changed since the last one emitted are emitted as UPDATED, so nothing is lost.
 */
export async function watchPullRequests(
  deps: LiveDeps,
  scope: PullRequestScope,
  mayRead: (repository: Repository) => boolean,
): Promise<AsyncGenerator<PullRequestChange>> {
  // Subscribe first: a change committed while the generator starts is delivered, not missed.
  const topic =
    'repositoryId' in scope
      ? PullRequestTopic.repository(scope.repositoryId)
      : PullRequestTopic.task(scope.taskId);
  const feed = await LiveFeed.open<PullRequestLiveMessage>(deps.live, topic, { maxBuffered: 1_000 });
  let since = new Date();
  async function* run(): AsyncGenerator<PullRequestChange> {
    try {
      for (;;) {
        const item = await feed.next();
        if (!item) return;
        const changes: Array<{ action: PullRequestAction; id: string }> = [];
        if ('gap' in item) {
          const changed = await deps.prisma.pullRequest.findMany({
            where: { ...scope, updatedAt: { gt: since } },
            orderBy: { updatedAt: 'asc' },
            take: 100,
            select: { id: true },
          });
          for (const { id } of changed) changes.push({ action: PullRequestAction.UPDATED, id });
        } else {
          changes.push({ action: item.message.action, id: item.message.pullRequestId });
        }
        for (const change of changes) {
          const pull = await deps.prisma.pullRequest.findUnique({
            where: { id: change.id },
            include: { repository: true },
          });
          if (!pull || !mayRead(pull.repository)) continue;
          if (pull.updatedAt > since) since = pull.updatedAt;
          const { repository: _repository, ...pullRequest } = pull;
          yield { action: change.action, pullRequest };
        }
      }
    } finally {
      await feed.close();
    }
  }
  return interruptible(run(), () => feed.close());
}
