import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for S3-compatible stores, written here instead of pulling in the AWS SDK (chat needs
 * three calls). Follows the S3 flavour of the algorithm: the path is URI-encoded once and not normalised.
 * Checked against AWS's published signing examples (tests/sigv4.test.ts); not exercised against a live S3.
 */

/** Credentials of the signing identity. */
export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials' token, sent as `x-amz-security-token` (signed). */
  sessionToken?: string | undefined;
}

/** What is signed: every header given is signed (`host` must be among them). */
export interface SigV4Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (`sha256Hex(body)`), or `UNSIGNED-PAYLOAD`. */
  payloadHash: string;
}

/** Where and when the request is signed. */
export interface SigV4Scope {
  region: string;
  service: string;
  /** Signing time; the request must carry the same instant in `x-amz-date` (added by {@link signRequest}). */
  date: Date;
}

/** SHA-256 of an empty body, the payload hash of GET, HEAD and DELETE. */
export const EMPTY_PAYLOAD_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Hex SHA-256. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20130524T000000Z`. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-_.~` (and `/` when `keepSlash`). */
export function uriEncode(value: string, keepSlash = false): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(char) || (keepSlash && char === '/')) encoded += char;
    else encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams.entries()].map(([key, value]) => [uriEncode(key), uriEncode(value)] as const);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

/** The canonical request (step 1 of the algorithm); exposed for tests and debugging signature mismatches. */
export function canonicalRequest(request: SigV4Request): { canonical: string; signedHeaders: string } {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = headers.map(([name]) => name).join(';');
  const path = uriEncode(decodeURIComponent(request.url.pathname || '/'), true);
  const canonical = [
    request.method.toUpperCase(),
    path,
    canonicalQuery(request.url),
    headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    request.payloadHash,
  ].join('\n');
  return { canonical, signedHeaders };
}

/**
 * Signs a request: returns the headers to send, i.e. the given ones plus `x-amz-date`, the session token if
 * any, and `authorization`.
 */
export function signRequest(request: SigV4Request, credentials: SigV4Credentials, scope: SigV4Scope): Record<string, string> {
  const timestamp = amzDate(scope.date);
  const day = timestamp.slice(0, 8);
  const headers: Record<string, string> = { ...request.headers, 'x-amz-date': timestamp };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const { canonical, signedHeaders } = canonicalRequest({ ...request, headers });
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', timestamp, credentialScope, sha256Hex(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), scope.region), scope.service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
