import { randomUUID } from 'node:crypto';
import { developmentSecret } from '@cap/runtime';
import { githubWebhookDelivery, sampleWebhookPayload, waitFor } from '@cap/testkit';
import { describe, expect, it } from 'vitest';
import {
  alice,
  bearer,
  bob,
  dataDir,
  router,
  stack,
  subscribe,
  useSubscriptionStack,
  wsClient,
} from './stack.js';

/**
 * The github subgraph's `pullRequestUpdated` through the router: a pull request GitHub reports (a signed webhook,
 * forwarded by the router) reaches the subscriber; refusals are coded.
 */
useSubscriptionStack();

const UPDATES = /* GraphQL */ `
  subscription ($owner: String, $name: String, $taskId: ID) {
    pullRequestUpdated(owner: $owner, name: $name, taskId: $taskId) {
      action
      pullRequest {
        number
        state
        repository {
          fullName
        }
      }
    }
  }
`;

/** A connected repository, written as the github subgraph stores one (no GitHub in this stack). */
async function connected(name: string, access: 'APP' | 'OAUTH', connectedById: string | null) {
  return stack.github.deps.prisma.repository.create({
    data: {
      githubId: BigInt(Math.floor(Math.random() * 1e9)),
      owner: 'acme',
      name,
      fullNameKey: `acme/${name}`,
      defaultBranch: 'main',
      visibility: 'PRIVATE',
      access,
      connectedById,
      htmlUrl: `https://github.example/acme/${name}`,
      cloneUrl: `https://github.example/acme/${name}.git`,
    },
  });
}

function pullRequestWebhook(name: string, number: number) {
  return githubWebhookDelivery({
    event: 'pull_request',
    schema: 'pull-request-opened',
    secret: developmentSecret(dataDir, 'GITHUB_WEBHOOK_SECRET'),
    payload: sampleWebhookPayload('pull-request-opened', {
      action: 'opened',
      number,
      repository: { name, owner: { login: 'acme' } },
      pull_request: {
        number,
        html_url: `https://github.example/acme/${name}/pull/${number}`,
        title: 'From GitHub',
        state: 'open',
        draft: false,
        merged: false,
        head: { ref: `feature-${number}`, sha: 'd'.repeat(40) },
        base: { ref: 'main' },
      },
    }),
  });
}

describe('pullRequestUpdated through the router', () => {
  it('delivers a pull request GitHub reports through the forwarded webhook', async () => {
    const name = `widgets-${randomUUID().slice(0, 8)}`;
    await connected(name, 'APP', null);
    const stream = subscribe(
      wsClient(bearer(alice.token)),
      UPDATES,
      { owner: 'acme', name },
      'pullRequestUpdated',
    );
    // graphql-ws acknowledges no subscribe: report pull requests until the subscriber hears one.
    let number = 0;
    await waitFor(
      async () => {
        number += 1;
        const response = await fetch(`${router.url}/webhooks/github`, {
          method: 'POST',
          ...(({ headers, body }) => ({ headers, body }))(pullRequestWebhook(name, number)),
        });
        expect(response.status).toBe(202);
        return stream.events.length > 0;
      },
      { intervalMs: 200, message: 'a pull request update through the router' },
    );
    expect(stream.events[0]).toMatchObject({
      action: 'OPENED',
      pullRequest: { state: 'OPEN', repository: { fullName: `acme/${name}` } },
    });
    expect(stream.errors).toEqual([]);
  });

  it('refuses someone else’s repository, malformed arguments and unauthenticated clients', async () => {
    const name = `private-${randomUUID().slice(0, 8)}`;
    await connected(name, 'OAUTH', alice.id);
    const refused = (variables: Record<string, unknown>, token = bob.token) =>
      subscribe(wsClient(bearer(token)), UPDATES, variables, 'pullRequestUpdated').failure();
    expect(await refused({ owner: 'acme', name })).toEqual(['NOT_FOUND']);
    expect(await refused({ taskId: 'not-a-uuid' })).toEqual(['BAD_USER_INPUT']);
    expect(await refused({ owner: '../..', name: 'x' })).toEqual(['BAD_USER_INPUT']);
    expect(await refused({})).toEqual(['BAD_USER_INPUT']);
    const anonymous = subscribe(wsClient({}), UPDATES, { owner: 'acme', name }, 'pullRequestUpdated');
    expect((await anonymous.failure()).length).toBeGreaterThan(0);
    // Alice connected it with her account: she may follow it.
    const allowed = subscribe(
      wsClient(bearer(alice.token)),
      UPDATES,
      { owner: 'acme', name },
      'pullRequestUpdated',
    );
    expect(allowed.errors).toEqual([]);
  });
});
