import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import { ErrorCode, httpStatusOf } from './errors.js';
import type { Logger } from './logger.js';

/** Raised when a request body exceeds its cap; answered with 413 and PAYLOAD_TOO_LARGE. */
export class BodyTooLargeError extends Error {
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`);
  }
}

/** Reads a request body, refusing to buffer more than `limitBytes` (checked as bytes arrive). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new BodyTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** HTTP 415: a POST body that is not JSON (GraphQL over HTTP answers a wrong media type with it). */
const UNSUPPORTED_MEDIA_TYPE = 415;

/** A GraphQL HTTP request refused before any operation was read: the status and the one coded error to send. */
export interface RequestRefusal {
  status: number;
  code: ErrorCode;
  message: string;
  extensions: Record<string, unknown>;
}

/**
 * Reads a GraphQL request's body as the router and every subgraph do: only POST carries one (for any other method the
 * body is `undefined`), at most `maxBytes`, parsed as JSON (an empty body is `{}`). With `requireJsonContentType`
 * a POST must say `Content-Type: application/json`: form and text bodies are what cross-site "simple" requests
 * send (CSRF). Resolves with the body or with the refusal to send (see {@link sendRefusal}).
 */
export async function readGraphQLBody(
  req: IncomingMessage,
  options: { maxBytes: number; requireJsonContentType: boolean },
): Promise<{ ok: true; body: unknown } | { ok: false; refusal: RequestRefusal }> {
  if (req.method !== 'POST') return { ok: true, body: undefined };
  if (options.requireJsonContentType) {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') {
      return {
        ok: false,
        refusal: {
          status: UNSUPPORTED_MEDIA_TYPE,
          code: ErrorCode.BAD_USER_INPUT,
          message: 'GraphQL requests must be sent as application/json.',
          extensions: { expected: 'Content-Type: application/json' },
        },
      };
    }
  }
  let raw: string;
  try {
    raw = await readBody(req, options.maxBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    return {
      ok: false,
      refusal: {
        status: httpStatusOf(ErrorCode.PAYLOAD_TOO_LARGE),
        code: ErrorCode.PAYLOAD_TOO_LARGE,
        message: error.message,
        extensions: { limitBytes: options.maxBytes },
      },
    };
  }
  try {
    return { ok: true, body: raw.length > 0 ? (JSON.parse(raw) as unknown) : {} };
  } catch {
    return {
      ok: false,
      refusal: {
        status: httpStatusOf(ErrorCode.BAD_USER_INPUT),
        code: ErrorCode.BAD_USER_INPUT,
        message: 'Request body is not valid JSON.',
        extensions: { expected: 'a JSON object { query, variables?, operationName? }' },
      },
    };
  }
}

/** Sends a {@link RequestRefusal} as a GraphQL-over-HTTP error response. */
export function sendRefusal(res: ServerResponse, refusal: RequestRefusal): void {
  sendGraphQLError(res, refusal.status, refusal.code, refusal.message, {}, refusal.extensions);
}

/** The request's headers as Apollo Server takes them (repeated headers joined with `, `). */
export function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/**
 * The path of a request target without its query string, for logs: query strings carry credentials (signed
 * attachment links' `sig`, tokens some clients put in URLs) that must never reach a log line.
 */
export function pathOf(target: string | undefined): string {
  const path = (target ?? '/').split(/[?#]/, 1)[0] ?? '/';
  return path.length > 0 ? path : '/';
}

/**
 * Runs an async request handler, answering anything it throws with 500 INTERNAL_SERVER_ERROR (or ending a
 * response already under way) after logging it as `message`: no error escapes as an unhandled rejection.
 */
export function answeringUnexpectedErrors(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  logger: Logger,
  message: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: pathOf(req.url) }, message);
      if (!res.headersSent)
        sendGraphQLError(
          res,
          httpStatusOf(ErrorCode.INTERNAL_SERVER_ERROR),
          ErrorCode.INTERNAL_SERVER_ERROR,
          'Internal server error.',
        );
      else res.end();
    });
  };
}

/** Writes a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** Writes a GraphQL-over-HTTP error response with one coded error. */
export function sendGraphQLError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): void {
  sendJson(res, status, { errors: [{ message, extensions: { ...extensions, code } }] }, headers);
}

/** Starts listening and resolves with the bound URL (port 0 picks a free port). */
export async function listen(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`;
}

/** Closes a server, ending idle keep-alive connections so close() does not wait for them. */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}

/**
 * Which proxies in front of a service are trusted to append the address they saw to `X-Forwarded-For`: the
 * `hops` nearest ones (counted from the socket's peer), and any whose address lies in `cidrs`.
 */
export interface TrustedProxies {
  /** Proxies trusted by position: 0 = none, 1 = the socket's peer, 2 = it and the one before it, … */
  hops: number;
  /** Proxies trusted by address, e.g. `10.0.0.0/8`, `fd00::/8`; parse with {@link parseCidrs}. */
  cidrs: BlockList;
}

/** Trust nothing: the client address is the socket's peer. */
export const NO_TRUSTED_PROXIES: TrustedProxies = { hops: 0, cidrs: new BlockList() };

/**
 * Parses comma-separated CIDRs (IPv4 and IPv6; a bare address means one host) into a block list; throws a
 * message naming the first malformed entry. IPv4-mapped IPv6 peers are matched against IPv4 ranges.
 */
export function parseCidrs(list: string): BlockList {
  const blocks = new BlockList();
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address = '', prefixText, extra] = entry.split('/');
    const family = isIP(address);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 6 ? 128 : 32) ||
      prefixText === ''
    ) {
      throw new Error(`"${entry}" is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)`);
    }
    blocks.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return blocks;
}

/**
 * One address as it appears in a header or on a socket, normalised: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes
 * the IPv4 address, a port (`1.2.3.4:80`, `[::1]:80`) and brackets are dropped. Null when it is not an address.
 */
export function normaliseAddress(raw: string): string | null {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped?.[1]) value = mapped[1];
  const family = isIP(value);
  if (family === 0) return null;
  return family === 6 ? value.toLowerCase() : value;
}

/**
 * The client address. `X-Forwarded-For` is read right to left (every header line, in order, then the socket's
 * peer last): each address appended by a trusted proxy — one of the `hops` nearest, or inside `cidrs` — is
 * passed over, and the first untrusted one is the client. Entries left of it are whatever the client sent and
 * are never believed, so a forged left-most entry changes nothing. An entry that is not an address stops the walk
 * at the last address read (the proxy that reported it). With nothing trusted the socket's peer is the client.
 */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies = NO_TRUSTED_PROXIES): string {
  const peer = req.socket.remoteAddress
    ? (normaliseAddress(req.socket.remoteAddress) ?? req.socket.remoteAddress)
    : 'unknown';
  const isTrusted = (address: string, position: number): boolean =>
    position < trusted.hops ||
    (address !== 'unknown' && trusted.cidrs.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'));
  if (!isTrusted(peer, 0)) return peer;
  const header = req.headers['x-forwarded-for'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const chain = lines.flatMap((line) => line.split(','));
  let client = peer;
  let position = 1;
  // Bounded by the header's entries; each address moves one proxy further from us (empty entries are no hop).
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const entry = chain[index] ?? '';
    if (entry.trim() === '') continue;
    const address = normaliseAddress(entry);
    if (!address) return client;
    client = address;
    if (!isTrusted(address, position)) return address;
    position += 1;
  }
  return client;
}
