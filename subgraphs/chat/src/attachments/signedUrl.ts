import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signed attachment URL allows. */
export type AttachmentUrlAction = 'upload' | 'download';

/** Paths of the attachment routes on the chat server. */
export const AttachmentPath = {
  upload: '/attachments/upload',
  download: '/attachments/download',
} as const;

/** The claims a URL carries: which attachment, until when, and (uploads) how many bytes at most. */
export interface AttachmentUrlClaims {
  action: AttachmentUrlAction;
  attachmentId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Upload size cap in bytes (0 for downloads). */
  maxBytes: number;
}

function signature(secret: string, claims: AttachmentUrlClaims): string {
  return createHmac('sha256', secret)
    .update(`${claims.action}\n${claims.attachmentId}\n${claims.expiresAt}\n${claims.maxBytes}`)
    .digest('base64url');
}

/** `<baseUrl>/attachments/<action>?id=…&expires=…&max=…&sig=…`, signed with HMAC-SHA256 under `secret`. */
export function signAttachmentUrl(secret: string, baseUrl: string, claims: AttachmentUrlClaims): string {
  const url = new URL(AttachmentPath[claims.action], baseUrl);
  url.searchParams.set('id', claims.attachmentId);
  url.searchParams.set('expires', String(claims.expiresAt));
  url.searchParams.set('max', String(claims.maxBytes));
  url.searchParams.set('sig', signature(secret, claims));
  return url.toString();
}

/** Why a URL was refused. */
export type AttachmentUrlFailure = 'invalid' | 'expired';

/** Verifies a signed URL's query for `action`; the signature is compared in constant time. */
export function verifyAttachmentUrl(
  secret: string,
  action: AttachmentUrlAction,
  query: URLSearchParams,
  now = Date.now(),
): { ok: true; claims: AttachmentUrlClaims } | { ok: false; reason: AttachmentUrlFailure } {
  const attachmentId = query.get('id') ?? '';
  const expiresAt = Number(query.get('expires'));
  const maxBytes = Number(query.get('max'));
  const presented = Buffer.from(query.get('sig') ?? '', 'utf8');
  if (
    !/^[0-9a-f-]{36}$/.test(attachmentId) ||
    !Number.isSafeInteger(expiresAt) ||
    !Number.isSafeInteger(maxBytes)
  ) {
    return { ok: false, reason: 'invalid' };
  }
  const claims: AttachmentUrlClaims = { action, attachmentId, expiresAt, maxBytes };
  const expected = Buffer.from(signature(secret, claims), 'utf8');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
    return { ok: false, reason: 'invalid' };
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
