import { createHmac, randomUUID } from 'node:crypto';
import { sampleWebhookPayload, validateWebhookPayload } from './openApiContract.js';

/** A webhook delivery exactly as GitHub sends it: JSON body and its headers. */
export interface WebhookDelivery {
  id: string;
  body: Buffer<ArrayBuffer>;
  headers: Record<string, string>;
}

/**
 * Builds a delivery of `event` signed as GitHub signs it (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw
 * body with the webhook secret, hex>`). When `schema` names a webhook of GitHub's description (`x-webhooks`, e.g.
 * `pull-request-closed`), the payload is checked against it first, so tests send only what GitHub can send.
 */
export function githubWebhookDelivery(options: {
  event: string;
  payload: unknown;
  secret: string;
  schema?: string;
  id?: string;
}): WebhookDelivery {
  if (options.schema) {
    const problems = validateWebhookPayload(options.schema, options.payload);
    if (problems.length > 0)
      throw new Error(`${options.schema} payload disagrees with GitHub: ${problems.join('; ')}`);
  }
  const body = Buffer.from(JSON.stringify(options.payload), 'utf8');
  const id = options.id ?? randomUUID();
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/fake',
      'x-github-event': options.event,
      'x-github-delivery': id,
      'x-github-hook-id': '1',
      'x-hub-signature-256': `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`,
    },
  };
}

/** A branch end of a pull request as a delivery names it: `ref`, and `sha` / `label` when the test cares. */
export interface PullRequestEnd {
  ref: string;
  sha?: string;
  /** `owner:ref`; a fork's head carries the fork owner's login (`mallory:cap/task-…`). */
  label?: string;
}

/**
 * A signed `pull_request` `opened` delivery of an open pull request `number` of `owner/name` (as GitHub sends when
 * someone opens one), checked against GitHub's description of the webhook; what is not given is GitHub's sample.
 */
export function pullRequestOpenedDelivery(options: {
  secret: string;
  /** The fake GitHub's web origin (`fake.url`): the pull request's `html_url` lies under it. */
  webUrl: string;
  owner: string;
  name: string;
  number: number;
  title: string;
  head: PullRequestEnd;
  /** Defaults to `main`. */
  base?: PullRequestEnd;
}): WebhookDelivery {
  const { owner, name, number } = options;
  return githubWebhookDelivery({
    event: 'pull_request',
    schema: 'pull-request-opened',
    secret: options.secret,
    payload: sampleWebhookPayload('pull-request-opened', {
      action: 'opened',
      number,
      pull_request: {
        number,
        html_url: `${options.webUrl}/${owner}/${name}/pull/${number}`,
        title: options.title,
        state: 'open',
        merged: false,
        head: options.head,
        base: options.base ?? { ref: 'main' },
      },
      repository: { name, owner: { login: owner } },
    }),
  });
}
