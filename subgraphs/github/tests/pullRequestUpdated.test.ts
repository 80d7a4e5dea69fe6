import { randomUUID } from 'node:crypto';
import { toBusRecord } from '@cap/messaging';
import type { Principal } from '@cap/runtime';
import {
  addFakeRepository,
  collectSubscription,
  githubWebhookDelivery,
  sampleWebhookPayload,
  userPrincipal,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullRequestTopic } from '../src/live/pullRequestLive.js';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { checkSuiteCompleted, pushBranch, taskCompleted } from './taskEvents.js';

let h: GithubHarness;
const alice = userPrincipal('DEVELOPER');
const bob = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

const UPDATES = /* GraphQL */ `
  subscription ($owner: String, $name: String, $taskId: ID) {
    pullRequestUpdated(owner: $owner, name: $name, taskId: $taskId) {
      action
      pullRequest {
        id
        number
        state
        checks
        taskId
      }
    }
  }
`;
type Update = {
  action: string;
  pullRequest: { id: string; number: number; state: string; checks: string | null; taskId: string | null };
};

beforeAll(async () => {
  h = await startGithubHarness();
  addFakeRepository(h.fake, { owner: 'acme', name: 'gadgets', installationId: 77 });
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, alice);
  await h.call(CONNECT, { owner: 'acme', name: 'gadgets' }, bob);
  // acme/gadgets as if bob had connected it with his own GitHub account (OAuth): his alone to follow.
  await h.github.deps.prisma.repository.update({
    where: { fullNameKey: 'acme/gadgets' },
    data: { access: 'OAUTH', connectedById: bob.kind === 'user' ? bob.userId : null },
  });
  await h.github.consumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

describe('pullRequestUpdated', () => {
  it('streams a repository’s and a task’s pull request changes after they commit: opened, checks, merged', async () => {
    const taskId = randomUUID();
    const event = taskCompleted(taskId);
    pushBranch(h.fake, event.payload.branch!);
    const byRepository = collectSubscription<Update>(
      h.ws(viewer),
      UPDATES,
      { owner: 'ACME', name: 'widgets' },
      'pullRequestUpdated',
    );
    const byTask = collectSubscription<Update>(h.ws(alice), UPDATES, { taskId }, 'pullRequestUpdated');
    const other = collectSubscription<Update>(
      h.ws(alice),
      UPDATES,
      { taskId: randomUUID() },
      'pullRequestUpdated',
    );
    // Active once the subgraph holds their live subscriptions (graphql-ws acknowledges no subscribe).
    const repositoryId = (
      await h.github.deps.prisma.repository.findUniqueOrThrow({ where: { fullNameKey: 'acme/widgets' } })
    ).id;
    await h.listening(PullRequestTopic.repository(repositoryId));
    await h.listening(PullRequestTopic.task(taskId));
    await h.bus.publish([toBusRecord(event)]);
    await byTask.until((events) => events.length >= 1);
    expect(byTask.events[0]).toMatchObject({ action: 'OPENED', pullRequest: { taskId, state: 'OPEN' } });
    const pr = byTask.events[0]!.pullRequest;

    // Checks completed (a signed webhook), then merged from the graph.
    const suite = githubWebhookDelivery({
      event: 'check_suite',
      schema: 'check-suite-completed',
      secret: h.webhookSecret,
      payload: sampleWebhookPayload(
        'check-suite-completed',
        checkSuiteCompleted({ branch: event.payload.branch!, number: pr.number, conclusion: 'failure' }),
      ),
    });
    expect((await h.deliver(suite)).status).toBe(202);
    await byTask.until((events) => events.length >= 2);
    expect(byTask.events[1]).toMatchObject({
      action: 'CHECKS',
      pullRequest: { id: pr.id, checks: 'FAILURE' },
    });
    const merged = await h.call(
      'mutation ($id: ID!) { mergePullRequest(id: $id) { state } }',
      { id: pr.id },
      alice,
    );
    expect(merged.errors).toBeUndefined();
    await byTask.until((events) => events.length >= 3);
    expect(byTask.events[2]).toMatchObject({ action: 'MERGED', pullRequest: { state: 'MERGED' } });
    await byRepository.until((events) => events.length >= 3);
    expect(byRepository.events.map((e) => e.action)).toEqual(['OPENED', 'CHECKS', 'MERGED']);
    expect(other.events).toEqual([]);
    expect(byRepository.errors).toEqual([]);
  });

  it('refuses the unauthorized, someone else’s repository and malformed arguments with coded errors', async () => {
    const refused = async (variables: Record<string, unknown>, principal: Principal = alice) =>
      collectSubscription(h.ws(principal), UPDATES, variables, 'pullRequestUpdated').failure();
    expect(await refused({ owner: 'acme', name: 'widgets' }, { kind: 'anonymous' })).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(await refused({ owner: 'acme', name: 'gadgets' })).toEqual(['NOT_FOUND']);
    expect(await refused({ owner: 'acme', name: 'nope' })).toEqual(['NOT_FOUND']);
    for (const variables of [
      {},
      { owner: 'acme', name: 'widgets', taskId: randomUUID() },
      { owner: '../etc', name: 'passwd' },
      { owner: 'acme', name: 'x'.repeat(5_000) },
      { owner: 'acme' },
      { taskId: 'not-a-uuid' },
      { taskId: `${randomUUID()}' OR 1=1 --` },
    ])
      expect(await refused(variables)).toEqual(['BAD_USER_INPUT']);
    // Bob, who connected it with his account, may follow it.
    const gadgets = await h.github.deps.prisma.repository.findUniqueOrThrow({
      where: { fullNameKey: 'acme/gadgets' },
    });
    const allowed = collectSubscription(
      h.ws(bob),
      UPDATES,
      { owner: 'acme', name: 'gadgets' },
      'pullRequestUpdated',
    );
    await h.listening(PullRequestTopic.repository(gadgets.id));
    expect(allowed.errors).toEqual([]);
  });
});
