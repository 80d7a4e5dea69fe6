import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, sendGraphQLError, sendJson, type RouteHandler } from '@cap/runtime';
import { receiveUpload } from '../domain/attachments.js';
import type { ChatDeps } from '../domain/deps.js';
import { UploadRejectedError } from './contentCheck.js';
import { AttachmentPath, verifyAttachmentUrl } from './signedUrl.js';

/** HTTP statuses of the attachment routes, named (docs/CONVENTIONS.md §10). */
const Status = {
  CREATED: 201,
  OK: 200,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BAD_REQUEST: 400,
} as const;

/** After refusing an upload, read (and discard) at most this much more of it so the client sees the answer. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * The attachment routes the chat server serves beside GraphQL. They take no router token: the signed URL is
 * the credential (HMAC over attachment id, expiry and size cap), issued only to participants through GraphQL.
 */
export function attachmentRoutes(deps: ChatDeps): Record<string, RouteHandler> {
  return {
    [`PUT ${AttachmentPath.upload}`]: (req, res) => upload(deps, req, res),
    [`GET ${AttachmentPath.download}`]: (req, res) => download(deps, req, res),
  };
}

/**
 * Answers a refused upload without reading the rest of it into storage. Closing the socket at once while the
 * client is still sending makes it see a reset instead of our answer, so the remainder is drained (bounded in
 * size and time) and the connection closed afterwards.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): void {
  if (!req.complete) {
    let drained = 0;
    const stop = (): void => {
      req.socket.destroy();
    };
    const timer = setTimeout(stop, DRAIN_TIMEOUT_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT_BYTES) stop();
    });
    req.on('end', () => clearTimeout(timer));
    req.resume();
  }
  sendGraphQLError(res, status, code, message, { connection: 'close' }, details);
}

async function upload(deps: ChatDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://chat');
  const verified = verifyAttachmentUrl(deps.settings.attachmentSigningSecret, 'upload', url.searchParams);
  if (!verified.ok) {
    return refuse(
      req,
      res,
      verified.reason === 'expired' ? Status.GONE : Status.FORBIDDEN,
      ErrorCode.FORBIDDEN,
      `The upload URL is ${verified.reason}.`,
      {
        reason: verified.reason,
      },
    );
  }
  const { claims } = verified;
  const declared =
    req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > claims.maxBytes) {
    return refuse(
      req,
      res,
      Status.PAYLOAD_TOO_LARGE,
      ErrorCode.PAYLOAD_TOO_LARGE,
      `The upload exceeds ${claims.maxBytes} bytes.`,
      {
        limitBytes: claims.maxBytes,
      },
    );
  }
  try {
    // Not destroyed when the checks stop reading early, so the refusal can still be answered on this socket.
    const body = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
    const outcome = await receiveUpload(deps, claims, body);
    if (!outcome.ok) return refuse(req, res, outcome.status, outcome.code, outcome.message, outcome.details);
    const { attachment } = outcome;
    sendJson(res, Status.CREATED, {
      id: attachment.id,
      fileName: attachment.fileName,
      contentType: attachment.contentType,
      size: attachment.size,
      sha256: attachment.sha256,
    });
  } catch (error) {
    if (!(error instanceof UploadRejectedError)) throw error;
    if (error.kind === 'too-large') {
      return refuse(
        req,
        res,
        Status.PAYLOAD_TOO_LARGE,
        ErrorCode.PAYLOAD_TOO_LARGE,
        error.message,
        error.details,
      );
    }
    const status = error.kind === 'empty' ? Status.BAD_REQUEST : Status.UNSUPPORTED_MEDIA_TYPE;
    return refuse(req, res, status, ErrorCode.BAD_USER_INPUT, error.message, error.details);
  }
}

/** RFC 6266 `Content-Disposition` with an ASCII fallback and the exact UTF-8 name. */
function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

async function download(deps: ChatDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://chat');
  const verified = verifyAttachmentUrl(deps.settings.attachmentSigningSecret, 'download', url.searchParams);
  if (!verified.ok) {
    return sendGraphQLError(
      res,
      verified.reason === 'expired' ? Status.GONE : Status.FORBIDDEN,
      ErrorCode.FORBIDDEN,
      `The download URL is ${verified.reason}.`,
      {},
      {
        reason: verified.reason,
      },
    );
  }
  const attachment = await deps.prisma.attachment.findUnique({ where: { id: verified.claims.attachmentId } });
  const bytes = attachment?.status === 'READY' ? await deps.storage.get(attachment.id) : null;
  if (!attachment || !bytes)
    return sendGraphQLError(res, Status.NOT_FOUND, ErrorCode.NOT_FOUND, 'Attachment not found.');
  const text = attachment.contentType.startsWith('text/') || attachment.contentType === 'application/json';
  res.writeHead(Status.OK, {
    'content-type': text ? `${attachment.contentType}; charset=utf-8` : attachment.contentType,
    ...(attachment.size !== null ? { 'content-length': String(attachment.size) } : {}),
    'content-disposition': contentDisposition(attachment.fileName),
    // The bytes are user content: never sniffed into something else, never scripted, never cached publicly.
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, max-age=60',
  });
  await pipeline(bytes, res);
}
