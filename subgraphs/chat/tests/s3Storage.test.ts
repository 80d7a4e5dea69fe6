import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage, S3StorageError } from '../src/storage/S3Storage.js';
import { S3_CREDENTIALS, startS3Server, type S3Server } from './s3Server.js';

let s3: S3Server;
let storage: S3Storage;
beforeAll(async () => {
  s3 = await startS3Server();
  storage = open(S3_CREDENTIALS.secretAccessKey);
});
afterAll(async () => {
  await storage.close();
  await s3[Symbol.asyncDispose]();
});

function open(secretAccessKey: string): S3Storage {
  return new S3Storage({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: s3.bucket,
    credentials: { accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey },
    forcePathStyle: true,
    timeoutMs: 10_000,
  });
}

async function* chunks(body: Buffer, sizes: number[]): AsyncIterable<Uint8Array> {
  let offset = 0;
  for (const size of sizes) {
    yield body.subarray(offset, offset + size);
    offset += size;
  }
  yield body.subarray(offset);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('S3 attachment storage against a signature-checking S3 server', () => {
  it('stores, reads and deletes objects of generated sizes and contents, however the body is chunked', async () => {
    for (let round = 0; round < 12; round++) {
      const body = randomBytes(round === 0 ? 0 : Math.floor(Math.random() * 200_000));
      const sizes = Array.from({ length: round % 4 }, () => Math.floor(Math.random() * (body.length + 1)));
      const key = randomUUID();
      await storage.put(key, chunks(body, sizes), { contentType: 'application/octet-stream' });
      expect((await readAll((await storage.get(key))!)).equals(body)).toBe(true);
      await storage.delete(key);
      expect(await storage.get(key)).toBeNull();
    }
  });

  it('answers null for a missing object and deletes a missing object without error', async () => {
    const key = randomUUID();
    expect(await storage.get(key)).toBeNull();
    await expect(storage.delete(key)).resolves.toBeUndefined();
  });

  it('never sends a body that fails its checks mid-stream', async () => {
    const key = randomUUID();
    const failing = (async function* () {
      yield Buffer.from('partial');
      throw new Error('refused mid-stream');
    })();
    await expect(storage.put(key, failing, { contentType: 'text/plain' })).rejects.toThrow(
      'refused mid-stream',
    );
    expect(await storage.get(key)).toBeNull();
  });

  it('fails every operation signed with a wrong secret', async () => {
    const key = randomUUID();
    await storage.put(key, chunks(Buffer.from('kept'), []), { contentType: 'text/plain' });
    const wrong = open('not-the-secret');
    try {
      const refused = await wrong
        .put(randomUUID(), chunks(Buffer.from('x'), []), { contentType: 'text/plain' })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(S3StorageError);
      expect((refused as S3StorageError).status).toBe(403);
      await expect(wrong.get(key)).rejects.toBeInstanceOf(S3StorageError);
      await expect(wrong.ping()).rejects.toBeInstanceOf(S3StorageError);
    } finally {
      await wrong.close();
    }
    expect((await readAll((await storage.get(key))!)).toString()).toBe('kept');
  });

  it('presigns GETs the server honours, and refuses them once tampered with', async () => {
    const key = randomUUID();
    const other = randomUUID();
    await storage.put(key, chunks(Buffer.from('presigned'), []), { contentType: 'text/plain' });
    await storage.put(other, chunks(Buffer.from('someone else'), []), { contentType: 'text/plain' });
    const url = await storage.presignedGetUrl(key, 60);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('presigned');

    const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const tampered = [
      url.replace(signature, flipped),
      url.replace(key, other),
      url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'),
    ];
    for (const forged of tampered) {
      const refused = await fetch(forged);
      expect(refused.status).toBe(403);
      await refused.arrayBuffer();
    }
  });

  it('reports a reachable bucket as ready', async () => {
    expect(await storage.ping()).toBeGreaterThanOrEqual(0);
  });
});
