import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The access key pair s3rver accepts; anything else fails its signature check. */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The part of s3rver's API the tests use (it ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  allowMismatchedSignatures: boolean;
  configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

/** A running S3-compatible server on loopback. */
export interface S3Server extends AsyncDisposable {
  endpoint: string;
  bucket: string;
}

/**
 * s3rver (the maintained `@20minutes/s3rver` fork) on a free loopback port with one bucket and a fresh directory.
 * It verifies SigV4 signatures, headers and presigned URLs alike, so a wrongly signed request fails as on S3.
 */
export async function startS3Server(bucket = 'chat-attachments'): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 'cap-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    allowMismatchedSignatures: false,
    configureBuckets: [{ name: bucket }],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    [Symbol.asyncDispose]: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
