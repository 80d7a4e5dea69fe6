import { createHmac, randomUUID } from 'node:crypto';
import { validateWebhookPayload } from './openApiContract.js';

/** A webhook delivery exactly as GitHub sends it: JSON body and its headers. */
export interface WebhookDelivery {
  id: string;
  body: Buffer;
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
