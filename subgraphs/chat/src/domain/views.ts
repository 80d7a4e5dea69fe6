import type { Attachment, Message } from '../generated/prisma/client.js';

/** Kinds of conversation members and message authors. */
export type ActorKind = 'USER' | 'AGENT';

/** An attachment as the graph shows it (only READY attachments are ever shown on messages). */
export interface AttachmentView {
  id: string;
  conversationId: string;
  messageId: string | null;
  uploaderId: string;
  fileName: string;
  contentType: string;
  size: number;
  createdAt: Date;
}

/**
 * A message with everything its list fields need except edit history: what the recent-message cache stores and
 * what live events carry, so neither a cache hit nor a subscription event costs a query per message.
 */
export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  authorKind: ActorKind;
  authorUserId: string | null;
  authorAgentId: string | null;
  /** Empty once deleted. */
  body: string;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  attachments: AttachmentView[];
}

/** The view of a stored attachment. */
export function toAttachmentView(attachment: Attachment): AttachmentView {
  return {
    id: attachment.id,
    conversationId: attachment.conversationId,
    messageId: attachment.messageId,
    uploaderId: attachment.uploaderId,
    fileName: attachment.fileName,
    contentType: attachment.contentType,
    size: attachment.size ?? 0,
    createdAt: attachment.createdAt,
  };
}

/** The view of a stored message with its (READY) attachments. */
export function toMessageView(message: Message, attachments: readonly Attachment[]): MessageView {
  return {
    id: message.id,
    conversationId: message.conversationId,
    seq: message.seq,
    authorKind: message.authorKind,
    authorUserId: message.authorUserId,
    authorAgentId: message.authorAgentId,
    body: message.deletedAt ? '' : message.body,
    createdAt: message.createdAt,
    editedAt: message.editedAt,
    deletedAt: message.deletedAt,
    attachments: message.deletedAt
      ? []
      : attachments
          .filter((attachment) => attachment.status === 'READY')
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
          .map(toAttachmentView),
  };
}

/** Views of messages with their attachments grouped from one batch query. */
export function toMessageViews(
  messages: readonly Message[],
  attachments: readonly Attachment[],
): MessageView[] {
  const byMessage = new Map<string, Attachment[]>();
  for (const attachment of attachments) {
    if (!attachment.messageId) continue;
    const list = byMessage.get(attachment.messageId) ?? [];
    list.push(attachment);
    byMessage.set(attachment.messageId, list);
  }
  return messages.map((message) => toMessageView(message, byMessage.get(message.id) ?? []));
}

/** JSON for the cache and live events (dates as ISO strings). */
export function serializeMessageView(view: MessageView): string {
  return JSON.stringify(view);
}

/** Reverses {@link serializeMessageView}. */
export function parseMessageView(json: string): MessageView {
  const raw = JSON.parse(json) as Record<string, unknown> & { attachments: Array<Record<string, unknown>> };
  return {
    ...(raw as unknown as MessageView),
    createdAt: new Date(raw['createdAt'] as string),
    editedAt: raw['editedAt'] ? new Date(raw['editedAt'] as string) : null,
    deletedAt: raw['deletedAt'] ? new Date(raw['deletedAt'] as string) : null,
    attachments: raw.attachments.map((attachment) => ({
      ...(attachment as unknown as AttachmentView),
      createdAt: new Date(attachment['createdAt'] as string),
    })),
  };
}
