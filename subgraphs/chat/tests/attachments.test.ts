import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, userPrincipal } from '@cap/testkit';
import { createConversation, post, startChatHarness, type ChatHarness } from './harness.js';
import { signAttachmentUrl } from '../src/attachments/signedUrl.js';

let h: ChatHarness;
const alice = userPrincipal();
const bob = userPrincipal();
let conversationId: string;
beforeAll(async () => {
  h = await startChatHarness({ env: { ATTACHMENT_MAX_BYTES: String(5 * 1024 * 1024) } });
  conversationId = await createConversation(h, alice, [bob]);
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from(
    '0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1f2b1e10000000049454e44ae426082',
    'hex',
  ),
]);
const TEXT = Buffer.from('# Notes\n\nThe flaky test fails at midnight. ✓\n', 'utf8');

const CREATE_UPLOAD = /* GraphQL */ `
  mutation ($conversationId: ID!, $fileName: String!, $contentType: String!, $size: Int!) {
    createAttachmentUpload(
      conversationId: $conversationId
      fileName: $fileName
      contentType: $contentType
      size: $size
    ) {
      attachmentId
      uploadUrl
      uploadMethod
      expiresAt
      maxBytes
    }
  }
`;

async function createUpload(
  fileName: string,
  contentType: string,
  size: number,
  as = alice,
): Promise<{ attachmentId: string; uploadUrl: string }> {
  const result = await h.call(CREATE_UPLOAD, { conversationId, fileName, contentType, size }, as);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!['createAttachmentUpload'];
}

/**
 * PUTs `chunks` to `url` with node:http, so an early answer is seen even while the body is still being sent.
 * Like a well-behaved client it stops sending once answered; `sentBytes` says how much went out by then.
 */
function put(
  url: string,
  chunks: Iterable<Buffer>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; sentBytes: number; answeredEarly: boolean }> {
  return new Promise((resolve, reject) => {
    let sentBytes = 0;
    let finished = false;
    let answered = false;
    const req = request(url, { method: 'PUT', headers }, (res: IncomingMessage) => {
      const answeredEarly = !finished;
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          body: text ? JSON.parse(text) : null,
          sentBytes,
          answeredEarly,
        });
      });
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const iterator = chunks[Symbol.iterator]();
    const pump = (): void => {
      while (!answered) {
        const next = iterator.next();
        if (next.done) {
          finished = true;
          req.end();
          return;
        }
        sentBytes += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function* repeat(chunk: Buffer, times: number): Generator<Buffer> {
  for (let index = 0; index < times; index += 1) yield chunk;
}

async function storedFiles(): Promise<string[]> {
  const dir = join(h.env['DATA_DIR']!, 'attachments');
  return [
    ...(await readdir(dir)).filter((name) => name !== '.incoming'),
    ...(await readdir(join(dir, '.incoming'))).map((name) => `.incoming/${name}`),
  ];
}

describe('attachments', () => {
  it('uploads through a signed URL, attaches to a message, and downloads through a signed, expiring URL', async () => {
    const { attachmentId, uploadUrl } = await createUpload('diagram.png', 'image/png', PNG.length);
    expect(new URL(uploadUrl).pathname).toBe('/attachments/upload');
    const uploaded = await put(uploadUrl, [PNG], {
      'content-type': 'image/png',
      'content-length': String(PNG.length),
    });
    expect(uploaded).toMatchObject({
      status: 201,
      body: { id: attachmentId, size: PNG.length, sha256: createHash('sha256').update(PNG).digest('hex') },
    });
    // The stored file is named by id, never by the user's name.
    expect(await storedFiles()).toContain(attachmentId);

    // A URL accepts one upload.
    expect((await put(uploadUrl, [PNG])).status).toBe(409);

    const message = await post(h, alice, conversationId, 'see diagram');
    const attached = await h.call(
      `mutation($m: ID!, $a: ID!) { attachToMessage(messageId: $m, attachmentId: $a) { attachments { id fileName contentType size download { url expiresAt } } } }`,
      { m: message.id, a: attachmentId },
      alice,
    );
    expect(attached.errors).toBeUndefined();
    const [attachment] = attached.data!['attachToMessage'].attachments;
    expect(attachment).toMatchObject({
      id: attachmentId,
      fileName: 'diagram.png',
      contentType: 'image/png',
      size: PNG.length,
    });

    const download = await fetch(attachment.download.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="diagram.png"; filename*=UTF-8''diagram.png`,
    );
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);

    // Tampered or expired links are refused.
    const tampered = new URL(attachment.download.url);
    tampered.searchParams.set('expires', String(Date.now() + 3_600_000));
    expect((await fetch(tampered)).status).toBe(403);
    const expired = new URL(attachment.download.url);
    expired.searchParams.set('sig', 'x');
    expect((await fetch(expired)).status).toBe(403);

    // Attaching is for the author's own messages, once.
    const other = await createUpload('notes.md', 'text/markdown', TEXT.length);
    await put(other.uploadUrl, [TEXT]);
    const bobs = await post(h, bob, conversationId, 'mine');
    expect(
      errorCodes(
        await h.call(
          `mutation($m: ID!, $a: ID!) { attachToMessage(messageId: $m, attachmentId: $a) { id } }`,
          { m: bobs.id, a: other.attachmentId },
          alice,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    // …or at posting time.
    const withFile = await post(h, alice, conversationId, 'notes attached', {
      attachmentIds: [other.attachmentId],
    });
    expect(withFile.attachments).toEqual([{ id: other.attachmentId, fileName: 'notes.md' }]);
    expect(
      errorCodes(
        await h.call(
          `mutation($m: ID!, $a: ID!) { attachToMessage(messageId: $m, attachmentId: $a) { id } }`,
          { m: message.id, a: other.attachmentId },
          alice,
        ),
      ),
    ).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses path-like, hidden-extension and control-character file names, unknown types and oversize announcements', async () => {
    const before = await h.chat.deps.prisma.attachment.count();
    const cases: Array<[string, string, number, string]> = [
      ['../../etc/passwd', 'text/plain', 10, 'BAD_USER_INPUT'],
      ['..\\..\\windows\\system32', 'text/plain', 10, 'BAD_USER_INPUT'],
      ['..', 'text/plain', 10, 'BAD_USER_INPUT'],
      ['evil\u202Egnp.exe', 'image/png', 10, 'BAD_USER_INPUT'],
      ['new\nline.txt', 'text/plain', 10, 'BAD_USER_INPUT'],
      ['x'.repeat(256), 'text/plain', 10, 'BAD_USER_INPUT'],
      ['', 'text/plain', 10, 'BAD_USER_INPUT'],
      ['run.sh', 'application/x-sh', 10, 'BAD_USER_INPUT'],
      ['page.html', 'text/html', 10, 'BAD_USER_INPUT'],
      ['huge.png', 'image/png', 5 * 1024 * 1024 + 1, 'PAYLOAD_TOO_LARGE'],
      ['none.png', 'image/png', 0, 'BAD_USER_INPUT'],
    ];
    for (const [fileName, contentType, size, code] of cases) {
      const result = await h.call(CREATE_UPLOAD, { conversationId, fileName, contentType, size }, alice);
      expect(errorCodes(result), JSON.stringify(fileName).slice(0, 40)).toEqual([code]);
    }
    expect(
      errorCodes(
        await h.call(
          CREATE_UPLOAD,
          { conversationId, fileName: 'a.png', contentType: 'image/png', size: 10 },
          userPrincipal(),
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(await h.chat.deps.prisma.attachment.count()).toBe(before);
    // Names with spaces, dots and non-Latin letters are fine.
    await createUpload('Résumé v2.final.pdf', 'application/pdf', 100);
  });

  it('refuses spoofed content types while streaming, leaving nothing stored and the slot retryable', async () => {
    const files = await storedFiles();
    const spoofedPng = await createUpload('cat.png', 'image/png', TEXT.length);
    const refusedPng = await put(spoofedPng.uploadUrl, [TEXT]);
    expect(refusedPng).toMatchObject({
      status: 415,
      body: { errors: [{ extensions: { code: 'BAD_USER_INPUT', expected: 'image/png' } }] },
    });

    const spoofedText = await createUpload('readme.txt', 'text/plain', PNG.length);
    const refusedText = await put(spoofedText.uploadUrl, [PNG]);
    expect(refusedText).toMatchObject({
      status: 415,
      body: { errors: [{ extensions: { code: 'BAD_USER_INPUT', expected: 'text/plain' } }] },
    });

    const nul = await createUpload('data.json', 'application/json', 20);
    expect((await put(nul.uploadUrl, [Buffer.from('{"a":"\u0000"}\n', 'utf8')])).status).toBe(415);
    const latin1 = await createUpload('old.txt', 'text/plain', 20);
    expect((await put(latin1.uploadUrl, [Buffer.from('caf\xe9 au lait', 'latin1')])).status).toBe(415);

    expect(await storedFiles()).toEqual(files);
    const rows = await h.chat.deps.prisma.attachment.findMany({
      where: { id: { in: [spoofedPng.attachmentId, spoofedText.attachmentId] } },
    });
    expect(rows.map((row) => row.status)).toEqual(['PENDING', 'PENDING']);
    // A refused upload stored nothing, so the same URL then accepts the right bytes.
    expect((await put(spoofedPng.uploadUrl, [PNG.subarray(0, TEXT.length)])).status).toBe(201);
  });

  it('answers a 50 MB upload with 413 while it streams and keeps nothing of it', async () => {
    const files = await storedFiles();
    const { attachmentId, uploadUrl } = await createUpload('big.txt', 'text/plain', 1024);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    // No Content-Length (chunked): the cap can only be enforced while reading.
    const started = Date.now();
    const chunked = await put(uploadUrl, repeat(chunk, 50));
    expect(chunked).toMatchObject({
      status: 413,
      body: { errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: 1024 } }] },
    });
    // Answered while the body was still streaming in, long before 50 MB went out.
    expect(chunked.answeredEarly).toBe(true);
    expect(chunked.sentBytes).toBeLessThan(50 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(10_000);
    // With an honest Content-Length it is refused before a byte is read.
    const declared = await put(uploadUrl, repeat(chunk, 50), { 'content-length': String(50 * 1024 * 1024) });
    expect(declared).toMatchObject({
      status: 413,
      answeredEarly: true,
      body: { errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
    });
    expect(await storedFiles()).toEqual(files);
    expect(
      (await h.chat.deps.prisma.attachment.findUniqueOrThrow({ where: { id: attachmentId } })).status,
    ).toBe('PENDING');
  });

  it('refuses tampered and expired upload URLs', async () => {
    const { uploadUrl } = await createUpload('a.txt', 'text/plain', TEXT.length);
    const bigger = new URL(uploadUrl);
    bigger.searchParams.set('max', String(50 * 1024 * 1024));
    expect(await put(bigger.toString(), [TEXT])).toMatchObject({
      status: 403,
      body: { errors: [{ extensions: { code: 'FORBIDDEN' } }] },
    });
    const otherId = new URL(uploadUrl);
    otherId.searchParams.set('id', crypto.randomUUID());
    expect((await put(otherId.toString(), [TEXT])).status).toBe(403);

    // A URL signed (with the real secret) for an expiry that has passed: the signature is fine, the time is not.
    const expired = signAttachmentUrl(h.env['ATTACHMENT_SIGNING_SECRET']!, h.chat.subgraph.url, {
      action: 'upload',
      attachmentId: new URL(uploadUrl).searchParams.get('id')!,
      expiresAt: Date.now() - 1_000,
      maxBytes: TEXT.length,
    });
    expect(await put(expired, [TEXT])).toMatchObject({
      status: 410,
      body: { errors: [{ extensions: { code: 'FORBIDDEN', reason: 'expired' } }] },
    });
    // The genuine URL still works.
    expect((await put(uploadUrl, [TEXT])).status).toBe(201);
  });

  it('removes attachments with their message', async () => {
    const upload = await createUpload('gone.txt', 'text/plain', TEXT.length);
    await put(upload.uploadUrl, [TEXT]);
    const message = await post(h, alice, conversationId, 'to delete', {
      attachmentIds: [upload.attachmentId],
    });
    expect(await storedFiles()).toContain(upload.attachmentId);
    await h.call(`mutation($id: ID!) { deleteMessage(messageId: $id) { id } }`, { id: message.id }, alice);
    expect(await storedFiles()).not.toContain(upload.attachmentId);
    expect(await h.chat.deps.prisma.attachment.count({ where: { id: upload.attachmentId } })).toBe(0);
  });
});
