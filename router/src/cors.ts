import type { IncomingMessage, ServerResponse } from 'node:http';

/** Response headers browsers may read (CORS). */
const EXPOSED_HEADERS =
  'x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after';
/** Request headers a browser may send cross-origin: credentials, cost report, tracing, CSRF-prevention headers. */
const ALLOWED_HEADERS =
  'authorization, content-type, x-api-key, x-request-id, x-include-cost, traceparent, apollo-require-preflight, x-apollo-operation-name';
/** How long a browser may cache a preflight answer, seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
const NO_CONTENT = 204;

/**
 * Applies the router's CORS rules (`CORS_ORIGINS`; `*` allows every origin) to one request. Answers a preflight
 * (`OPTIONS`) itself and returns true then; otherwise only sets the headers and returns false.
 */
export function applyCors(
  corsOrigins: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const origin = req.headers.origin;
  const anyOrigin = corsOrigins.includes('*');
  if (origin && (anyOrigin || corsOrigins.includes(origin))) {
    res.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  }
  if (req.method !== 'OPTIONS') return false;
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
  res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
  res.writeHead(NO_CONTENT).end();
  return true;
}
