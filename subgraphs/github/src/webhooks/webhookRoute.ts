import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhooks } from '@octokit/webhooks';
import { sendJson, type Logger } from '@cap/runtime';
import type { Prisma } from '../generated/prisma/client.js';
import { type PrismaClient } from '../generated/prisma/client.js';

/** GitHub caps webhook payloads at 25 MB; anything larger is not GitHub's (413). */
export const WEBHOOK_MAX_BYTES = 25 * 1024 * 1024;

/** The path GitHub posts to, on the subgraph and on the router's public origin. */
export const WEBHOOK_PATH = '/webhooks/github';

/** The events this subgraph turns into domain events; GitHub's `ping` is acknowledged too. */
export const HANDLED_EVENTS = new Set([
  'ping',
  'push',
  'pull_request',
  'pull_request_review',
  'issues',
  'issue_comment',
  'check_run',
  'check_suite',
  'workflow_run',
  'installation',
  'installation_repositories',
]);

const HTTP_ACCEPTED = 202;
const HTTP_BAD_REQUEST = 400;
const HTTP_UNAUTHORIZED = 401;
const HTTP_PAYLOAD_TOO_LARGE = 413;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,50}$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the raw body, refusing past `limit` bytes (declared or streamed); null when it was too large. */
async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(header(req, 'content-length') ?? 0) > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * `POST /webhooks/github`: verifies `X-Hub-Signature-256` over the raw bytes (`@octokit/webhooks`, constant time),
 * records the delivery (its id makes a replay a no-op) and answers at once; the work happens after the answer,
 * from the stored delivery ({@link WebhookProcessor}), so a crash between the two loses nothing.
 * 401 without a valid signature, 413 over 25 MB, 400 when headers or JSON are malformed, 202 for events this
 * subgraph does not handle (ignored) and for a new delivery, 200 for a replay.
 */
export function webhookRoute(options: {
  prisma: PrismaClient;
  secret: string;
  logger: Logger;
  onRecorded: () => void;
}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const webhooks = new Webhooks({ secret: options.secret });
  return async (req, res) => {
    const body = await readRaw(req, WEBHOOK_MAX_BYTES);
    if (!body) {
      res.setHeader('connection', 'close');
      return sendJson(res, HTTP_PAYLOAD_TOO_LARGE, {
        error: `webhook payloads are at most ${WEBHOOK_MAX_BYTES} bytes`,
      });
    }
    const signature = header(req, 'x-hub-signature-256');
    const text = body.toString('utf8');
    const valid = signature !== undefined && (await webhooks.verify(text, signature).catch(() => false));
    if (!valid) {
      options.logger.warn({ remote: req.socket.remoteAddress }, 'webhook delivery without a valid signature');
      return sendJson(res, HTTP_UNAUTHORIZED, { error: 'missing or invalid X-Hub-Signature-256' });
    }
    const event = header(req, 'x-github-event');
    const deliveryId = header(req, 'x-github-delivery');
    if (!event || !EVENT_NAME.test(event) || !deliveryId || !DELIVERY_ID.test(deliveryId))
      return sendJson(res, HTTP_BAD_REQUEST, {
        error: 'expected X-GitHub-Event and X-GitHub-Delivery headers',
      });
    if (!HANDLED_EVENTS.has(event)) return sendJson(res, HTTP_ACCEPTED, { ignored: event });
    let payload: unknown;
    try {
      // PostgreSQL's jsonb cannot hold U+0000 (a commit message may carry one): dropped after the signature check.
      payload = JSON.parse(text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1'));
    } catch {
      return sendJson(res, HTTP_BAD_REQUEST, { error: 'the payload is not JSON' });
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload))
      return sendJson(res, HTTP_BAD_REQUEST, { error: 'the payload is not a JSON object' });
    const { count } = await options.prisma.webhookDelivery.createMany({
      data: [{ deliveryId, event, payload: payload as Prisma.InputJsonObject }],
      skipDuplicates: true,
    });
    if (count === 0) return sendJson(res, 200, { duplicate: deliveryId });
    sendJson(res, HTTP_ACCEPTED, { accepted: deliveryId });
    options.onRecorded();
  };
}
