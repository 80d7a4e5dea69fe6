import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import {
  parseContentType,
  ATTACHMENT_CONTENT_TYPES,
  inspectUpload,
  type InspectedUpload,
} from '../attachments/contentCheck.js';
import { signAttachmentUrl, type AttachmentUrlClaims } from '../attachments/signedUrl.js';
import type { Attachment } from '../generated/prisma/client.js';
import { requireScope } from './authorization.js';
import { assertParticipant } from './conversations.js';
import type { ChatDeps } from './deps.js';
import { announce, claimAttachments, lockOwnMessage } from './messages.js';
import { parseFileName, parseId } from './validation.js';
import { toMessageView, type AttachmentView, type MessageView } from './views.js';

/** An attachment slot and where to PUT its bytes. */
export interface AttachmentUpload {
  attachment: Attachment;
  /** Signed, expiring URL on the chat service; `PUT` the file there. */
  uploadUrl: string;
  expiresAt: Date;
  /** The most bytes the upload may carry (the announced size). */
  maxBytes: number;
}

/**
 * Reserves an attachment in a conversation the caller takes part in and returns a signed upload URL. Checks
 * the announced name, type (allowlist) and size now; the bytes are checked again as they stream in.
 */
export async function createAttachmentUpload(
  deps: ChatDeps,
  principal: Principal,
  input: { conversationId: string; fileName: string; contentType: string; size: number },
): Promise<AttachmentUpload> {
  const caller = requireScope(principal, 'chat:write');
  const conversationId = parseId(input.conversationId, 'conversationId');
  const fileName = parseFileName(input.fileName);
  const contentType = parseContentType(input.contentType);
  if (!contentType) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'This content type is not accepted.', {
      field: 'contentType',
      expected: ATTACHMENT_CONTENT_TYPES.join(', '),
      received: input.contentType.slice(0, 100),
    });
  }
  const { attachmentMaxBytes } = deps.settings;
  if (!Number.isInteger(input.size) || input.size < 1) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'size must be a positive number of bytes.', {
      field: 'size',
      expected: `1-${attachmentMaxBytes}`,
      received: String(input.size),
    });
  }
  if (input.size > attachmentMaxBytes) {
    throw codedError(ErrorCode.PAYLOAD_TOO_LARGE, `Attachments may be at most ${attachmentMaxBytes} bytes.`, {
      field: 'size',
      limitBytes: attachmentMaxBytes,
      receivedBytes: input.size,
    });
  }
  await assertParticipant(deps.prisma, caller.userId, conversationId);
  const expiresAt = new Date(Date.now() + deps.settings.attachmentUploadTtlMs);
  const attachment = await deps.prisma.attachment.create({
    data: {
      conversationId,
      uploaderId: caller.userId,
      fileName,
      contentType,
      maxBytes: input.size,
      uploadExpiresAt: expiresAt,
    },
  });
  const uploadUrl = signAttachmentUrl(deps.settings.attachmentSigningSecret, deps.publicUrl(), {
    action: 'upload',
    attachmentId: attachment.id,
    expiresAt: expiresAt.getTime(),
    maxBytes: input.size,
  });
  return { attachment, uploadUrl, expiresAt, maxBytes: input.size };
}

/** How an upload ended, for the HTTP route to answer. */
export type UploadOutcome =
  | { ok: true; attachment: Attachment }
  | { ok: false; status: number; code: ErrorCode; message: string; details?: Record<string, unknown> };

/**
 * Receives the bytes of a signed upload: claims the attachment (one upload at a time), streams the body into
 * storage through the size and content checks, and marks it READY. Any refusal puts it back to PENDING with
 * nothing stored, so the client may retry with a correct file until the URL expires.
 */
export async function receiveUpload(
  deps: ChatDeps,
  claims: AttachmentUrlClaims,
  body: AsyncIterable<Uint8Array>,
): Promise<UploadOutcome> {
  const attachment = await deps.prisma.attachment.findUnique({ where: { id: claims.attachmentId } });
  if (!attachment)
    return { ok: false, status: 404, code: ErrorCode.NOT_FOUND, message: 'Attachment not found.' };
  const contentType = parseContentType(attachment.contentType);
  if (!contentType) throw new Error(`attachment ${attachment.id} has a content type outside the allowlist`);
  const claimed = await deps.prisma.attachment.updateMany({
    where: { id: attachment.id, status: 'PENDING', uploadExpiresAt: { gt: new Date() } },
    data: { status: 'UPLOADING' },
  });
  if (claimed.count === 0) {
    return {
      ok: false,
      status: 409,
      code: ErrorCode.CONFLICT,
      message: 'This attachment was already uploaded, is being uploaded, or expired.',
    };
  }
  const inspected: Partial<InspectedUpload> = {};
  try {
    await deps.storage.put(
      attachment.id,
      inspectUpload(
        body,
        { contentType, maxBytes: Math.min(claims.maxBytes, attachment.maxBytes) },
        inspected,
      ),
      {
        contentType,
      },
    );
  } catch (error) {
    await deps.prisma.attachment.updateMany({
      where: { id: attachment.id, status: 'UPLOADING' },
      data: { status: 'PENDING' },
    });
    throw error;
  }
  const ready = await deps.prisma.attachment.update({
    where: { id: attachment.id },
    data: {
      status: 'READY',
      size: inspected.size ?? 0,
      sha256: inspected.sha256 ?? null,
      uploadedAt: new Date(),
    },
  });
  return { ok: true, attachment: ready };
}

/** Attaches an uploaded attachment to the caller's message (both in the same conversation). */
export async function attachToMessage(
  deps: ChatDeps,
  principal: Principal,
  input: { messageId: string; attachmentId: string },
): Promise<MessageView> {
  const caller = requireScope(principal, 'chat:write');
  const messageId = parseId(input.messageId, 'messageId');
  const attachmentId = parseId(input.attachmentId, 'attachmentId');
  const view = await deps.prisma.$transaction(async (tx) => {
    const locked = await lockOwnMessage(tx, messageId, caller.userId, 'attach files to');
    const attachments = await claimAttachments(tx, messageId, locked.conversation_id, caller.userId, [
      attachmentId,
    ]);
    const message = await tx.message.findUniqueOrThrow({ where: { id: messageId } });
    return toMessageView(message, attachments);
  });
  await announce(deps, { type: 'updated', message: view });
  return view;
}

/** A signed, expiring link to download an attachment. */
export function downloadLink(deps: ChatDeps, attachment: AttachmentView): { url: string; expiresAt: Date } {
  const expiresAt = new Date(Date.now() + deps.settings.attachmentDownloadTtlMs);
  const url = signAttachmentUrl(deps.settings.attachmentSigningSecret, deps.publicUrl(), {
    action: 'download',
    attachmentId: attachment.id,
    expiresAt: expiresAt.getTime(),
    maxBytes: 0,
  });
  return { url, expiresAt };
}

/** How long an uploaded attachment may stay unattached before it is removed (ms). */
export const UNATTACHED_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Grace after an upload URL expired before its unfinished slot is removed (ms): covers an upload in flight. */
export const UPLOAD_GRACE_MS = 10 * 60 * 1000;

/**
 * Removes what will never be used: slots whose upload never completed, and uploads never attached to a message
 * within a day. Rows go first, then their bytes, so a download never finds a row without bytes for long.
 */
export async function sweepAttachments(deps: ChatDeps, now = new Date()): Promise<number> {
  const uploadCutoff = new Date(now.getTime() - UPLOAD_GRACE_MS);
  const unattachedCutoff = new Date(now.getTime() - UNATTACHED_RETENTION_MS);
  // One statement decides and deletes, so an attachment attached meanwhile is neither deleted nor loses its bytes.
  const removed = await deps.prisma.$queryRaw<Array<{ id: string }>>`
    DELETE FROM "chat"."attachments"
    WHERE "message_id" IS NULL
      AND (("status" IN ('PENDING', 'UPLOADING') AND "upload_expires_at" < ${uploadCutoff})
        OR ("status" = 'READY' AND "uploaded_at" < ${unattachedCutoff}))
    RETURNING "id"`;
  for (const { id } of removed) {
    await deps.storage
      .delete(id)
      .catch((error: unknown) =>
        deps.logger.warn({ err: error, attachmentId: id }, 'sweep could not delete bytes'),
      );
  }
  return removed.length;
}
