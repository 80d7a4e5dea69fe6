import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { sendJson, type Logger } from '@cap/runtime';

/** GitHub's one webhook URL and its OAuth return, both on the router's public origin. */
export const GITHUB_FORWARDED_PATHS: ReadonlyMap<string, string> = new Map([
  ['/webhooks/github', 'POST'],
  ['/oauth/github/callback', 'GET'],
]);

/** GitHub caps webhook payloads at 25 MB; a larger declared body is refused here already. */
const MAX_FORWARD_BYTES = 25 * 1024 * 1024;
/** GitHub gives up on a webhook after 10 s; the subgraph answers well before. */
const FORWARD_TIMEOUT_MS = 10_000;
const HTTP_PAYLOAD_TOO_LARGE = 413;
const HTTP_BAD_GATEWAY = 502;
const HTTP_METHOD_NOT_ALLOWED = 405;

/** Headers passed on: GitHub's own, the body's type and length; nothing of the router's or the client's cookies. */
function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (
      name.startsWith('x-github-') ||
      name.startsWith('x-hub-signature') ||
      name === 'content-type' ||
      name === 'content-length' ||
      name === 'user-agent'
    )
      out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Forwards GitHub's webhook deliveries and OAuth returns to the github subgraph unchanged: the raw body streams
 * through byte for byte (the signature covers those bytes), with GitHub's headers, and the subgraph's answer comes
 * back as it is. The subgraph authenticates these requests itself (signature, OAuth state).
 */
export function forwardToGithub(options: { githubUrl: string; logger: Logger }) {
  return (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const method = GITHUB_FORWARDED_PATHS.get(url.pathname);
    if (req.method !== method) return sendJson(res, HTTP_METHOD_NOT_ALLOWED, { error: `expected ${method}` });
    if (Number(req.headers['content-length'] ?? 0) > MAX_FORWARD_BYTES) {
      res.setHeader('connection', 'close');
      return sendJson(res, HTTP_PAYLOAD_TOO_LARGE, { error: `at most ${MAX_FORWARD_BYTES} bytes` });
    }
    const target = new URL(`${url.pathname}${url.search}`, options.githubUrl);
    const send = target.protocol === 'https:' ? httpsRequest : request;
    const upstream = send(
      target,
      { method, headers: forwardedHeaders(req), timeout: FORWARD_TIMEOUT_MS },
      (answer) => {
        const headers: Record<string, string> = {};
        const type = answer.headers['content-type'];
        if (type) headers['content-type'] = type;
        res.writeHead(answer.statusCode ?? HTTP_BAD_GATEWAY, headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('github subgraph timed out')));
    upstream.on('error', (error) => {
      options.logger.warn({ err: error, path: url.pathname }, 'forwarding to the github subgraph failed');
      if (!res.headersSent) sendJson(res, HTTP_BAD_GATEWAY, { error: 'the github subgraph is unavailable' });
      else res.destroy();
    });
    req.pipe(upstream);
  };
}
