import { randomInt, randomUUID } from 'node:crypto';
import { WorkflowRunCompleted, WorkflowRunUpdated } from '@cap/events';
import { toBusRecord } from '@cap/messaging';
import { waitFor } from '@cap/testkit';
import { describe, expect, it } from 'vitest';
import { alice, bearer, bus, stack, subscribe, useSubscriptionStack, wsClient } from './stack.js';

/**
 * cicd's `buildStatusChanged` federated through the router (graphql-ws), its changes fanned out over Redis: a
 * run reported by the github subgraph's events reaches a subscriber of its repository and branch as it runs,
 * completes and its logs are read; anonymous callers and hostile arguments are refused with codes.
 */
useSubscriptionStack();

const OWNER = 'acme';
const NAME = `router-live-${randomUUID().slice(0, 8)}`;
// One repository, one aggregate: its runs' events share a partition key and so keep their order on the bus.
const REPOSITORY_ID = randomUUID();
const BUILD_STATUS_CHANGED = /* GraphQL */ `
  subscription ($repository: String!, $branch: String) {
    buildStatusChanged(repository: $repository, branch: $branch) {
      runId
      headBranch
      status
      conclusion
      logState
      parseErrorCode
    }
  }
`;

type Event = {
  runId: string;
  headBranch: string;
  status: string;
  conclusion: string | null;
  logState: string;
  parseErrorCode: string | null;
};

function runEvent(runId: number, branch: string, status: 'in_progress' | 'completed') {
  const contract = status === 'completed' ? WorkflowRunCompleted : WorkflowRunUpdated;
  const repositoryId = REPOSITORY_ID;
  return contract.create(
    {
      repositoryId,
      owner: OWNER,
      name: NAME,
      runId,
      runAttempt: 1,
      workflowId: 7,
      workflowName: 'CI',
      event: 'push',
      headBranch: branch,
      headSha: 'a'.repeat(40),
      status,
      conclusion: status === 'completed' ? 'FAILURE' : null,
      htmlUrl: `https://github.example/${OWNER}/${NAME}/actions/runs/${runId}`,
      pullRequestNumbers: [],
      taskIds: [],
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    },
    { source: 'github', aggregateId: repositoryId },
  );
}

const publish = (...envelopes: ReturnType<typeof runEvent>[]) =>
  bus.publish(envelopes.map((envelope) => toBusRecord(envelope)));

describe('buildStatusChanged through the router', () => {
  it("streams a branch's build as it runs, fails and its logs are read", async () => {
    await stack.cicd.consumerReady;
    const feed = subscribe<Event>(
      wsClient(bearer(alice.token)),
      BUILD_STATUS_CHANGED,
      { repository: `${OWNER}/${NAME}`, branch: 'main' },
      'buildStatusChanged',
    );
    // Active once a change reaches it: report marker runs until one arrives.
    await waitFor(
      async () => {
        const marker = randomInt(1, 2 ** 40);
        await publish(runEvent(marker, 'main', 'in_progress'));
        return waitFor(() => feed.events.some((e) => e.runId === String(marker)), { timeoutMs: 1_000 }).catch(
          () => undefined,
        );
      },
      { message: 'the subscription active' },
    );
    const runId = randomInt(1, 2 ** 40);
    await publish(
      runEvent(randomInt(1, 2 ** 40), 'elsewhere', 'completed'),
      runEvent(runId, 'main', 'in_progress'),
      runEvent(runId, 'main', 'completed'),
    );
    const events = await feed.until((all) =>
      all.some((e) => e.runId === String(runId) && e.logState === 'FAILED'),
    );
    const ofRun = events.filter((e) => e.runId === String(runId));
    expect(ofRun.map((e) => e.status)).toEqual(['in_progress', 'completed', 'completed']);
    // The stack's cicd has no GitHub credential: the logs are a coded parse error on the build.
    expect(ofRun.at(-1)).toMatchObject({ conclusion: 'FAILURE', parseErrorCode: 'GITHUB_NOT_CONFIGURED' });
    expect(events.every((e) => e.headBranch === 'main')).toBe(true);
    feed.stop();
  }, 60_000);

  it('refuses anonymous callers and hostile arguments with codes', async () => {
    const anonymous = subscribe(
      wsClient({}),
      BUILD_STATUS_CHANGED,
      { repository: `${OWNER}/${NAME}` },
      'buildStatusChanged',
    );
    expect(await anonymous.failure()).toEqual(['UNAUTHENTICATED']);
    for (const variables of [
      { repository: '../../etc/passwd' },
      { repository: `${OWNER}/${NAME}`, branch: 'main\u0000x' },
      { repository: `${OWNER}/${NAME}`, branch: 'x'.repeat(300) },
    ]) {
      const hostile = subscribe(
        wsClient(bearer(alice.token)),
        BUILD_STATUS_CHANGED,
        variables,
        'buildStatusChanged',
      );
      expect(await hostile.failure()).toEqual(['BAD_USER_INPUT']);
    }
  }, 60_000);
});
