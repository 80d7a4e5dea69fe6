import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { createAttachmentUpload, downloadLink, type AttachmentUpload } from '../domain/attachments.js';
import type { AttachmentView } from '../domain/views.js';
import { UserRef, userRef } from './user.js';

/** `Attachment`: a READY file on a message. */
export const AttachmentRef = builder.objectRef<AttachmentView>('Attachment');

const AttachmentDownloadRef = builder
  .objectRef<{ url: string; expiresAt: Date }>('AttachmentDownload')
  .implement({
    description: 'A signed link to the bytes of an attachment. It expires; ask for a new one after that.',
    fields: (t) => ({
      url: t.exposeString('url', { description: 'GET this URL (no credentials needed) before `expiresAt`.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the link stops working.' }),
    }),
  });

AttachmentRef.implement({
  description: 'A file shared on a message. Stored under its id and served with its checked content type.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    fileName: t.exposeString('fileName', { description: 'Name given by the uploader, for display only.' }),
    contentType: t.exposeString('contentType', {
      description: 'MIME type, checked against the content when uploaded.',
    }),
    size: t.exposeInt('size', { description: 'Size in bytes.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the upload was requested.' }),
    uploader: t.field({
      type: UserRef,
      description: 'Who uploaded it.',
      resolve: (attachment) => userRef(attachment.uploaderId),
    }),
    download: t.field({
      type: AttachmentDownloadRef,
      description: 'A signed, expiring download link.',
      resolve: (attachment, _args, ctx) => downloadLink(ctx.deps, attachment),
    }),
  }),
});

const AttachmentUploadRef = builder.objectRef<AttachmentUpload>('AttachmentUpload').implement({
  description:
    'Where to upload a file: `PUT` its bytes to `uploadUrl` before `expiresAt`, then attach it with `attachToMessage` ' +
    '(or `postMessage(input: { attachmentIds })`). The content must match the declared type and size.',
  fields: (t) => ({
    attachmentId: t.id({
      description: 'The attachment being uploaded.',
      resolve: (upload) => upload.attachment.id,
    }),
    uploadUrl: t.exposeString('uploadUrl', {
      description: 'Signed URL on the chat service; accepts one upload.',
    }),
    uploadMethod: t.string({ description: 'The HTTP method to use: `PUT`.', resolve: () => 'PUT' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the upload URL stops working.' }),
    maxBytes: t.exposeInt('maxBytes', {
      description: 'The most bytes the upload may carry (the announced size).',
    }),
  }),
});

builder.mutationFields((t) => ({
  createAttachmentUpload: t.field({
    type: AttachmentUploadRef,
    description:
      'Reserves an attachment in a conversation you take part in and returns a signed upload URL. Accepted types: ' +
      'PNG, JPEG, GIF, WebP, PDF, plain text, Markdown, JSON; file names that look like paths are refused.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: {
      conversationId: t.arg.id({ required: true, description: 'The conversation the file is shared in.' }),
      fileName: t.arg.string({
        required: true,
        description: 'Display name, at most 255 bytes, no `/` or `\\`.',
      }),
      contentType: t.arg.string({ required: true, description: 'MIME type, e.g. `image/png`.' }),
      size: t.arg.int({ required: true, description: 'Exact size in bytes; the upload may not exceed it.' }),
    },
    resolve: (_root, args, ctx) =>
      createAttachmentUpload(ctx.deps, ctx.principal, {
        conversationId: String(args.conversationId),
        fileName: args.fileName,
        contentType: args.contentType,
        size: args.size,
      }),
  }),
}));
