import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertStorageKey, type AttachmentStorage } from './AttachmentStorage.js';

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`. */
  endpoint: string;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** `endpoint/bucket/key` (true) or `bucket.endpoint/key` (false). */
  forcePathStyle: boolean;
  /** Per-request timeout, ms (default 30_000). */
  timeoutMs?: number;
}

/** Raised when the store refuses an operation or cannot be reached (`status` 0). */
export class S3StorageError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`S3 ${operation} failed${status ? ` with HTTP ${status}` : ''}: ${detail.slice(0, 300)}`, options);
    this.name = 'S3StorageError';
  }
}

/** Key `ping` probes; attachment keys are random UUIDs (v4), never this one. */
const PROBE_KEY = '00000000-0000-0000-0000-000000000000';

function statusOf(error: unknown): number {
  return error instanceof S3ServiceException ? (error.$metadata.httpStatusCode ?? 0) : 0;
}

/**
 * Attachments in an S3-compatible bucket through the AWS SDK's S3 client (signing, retries, connection reuse).
 * Objects are written with one PUT of the whole body: uploads are capped (ATTACHMENT_MAX_BYTES) and checked
 * while they stream in, so the body is buffered and sent only once it passed every check; a rejected upload
 * never reaches the bucket. Checksums are computed only where S3 requires them, so stores that do not know the
 * newer checksum headers (most S3-compatible servers) accept the requests.
 */
export class S3Storage implements AttachmentStorage {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: S3StorageOptions) {
    this.#bucket = options.bucket;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        requestTimeout: options.timeoutMs ?? 30_000,
        connectionTimeout: options.timeoutMs ?? 30_000,
      },
    });
  }

  async #send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new S3StorageError(
        operation,
        statusOf(error),
        error instanceof Error ? error.message : String(error),
        { cause: error },
      );
    }
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: { contentType: string }): Promise<void> {
    assertStorageKey(key);
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const buffer = Buffer.concat(chunks);
    await this.#send('PutObject', () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: buffer,
          ContentType: options.contentType,
          ContentLength: buffer.length,
        }),
      ),
    );
  }

  async get(key: string): Promise<Readable | null> {
    assertStorageKey(key);
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      // In Node the SDK's body is the HTTP response stream itself.
      return (response.Body as Readable | undefined) ?? null;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw new S3StorageError(
        'GetObject',
        statusOf(error),
        error instanceof Error ? error.message : String(error),
        { cause: error },
      );
    }
  }

  async delete(key: string): Promise<void> {
    assertStorageKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw new S3StorageError(
        'DeleteObject',
        statusOf(error),
        error instanceof Error ? error.message : String(error),
        { cause: error },
      );
    }
  }

  async ping(): Promise<number> {
    const started = performance.now();
    try {
      // A signed HEAD of a key that is never written: 404 proves the bucket answers and accepts our signature
      // (bucket-level requests are what S3-compatible stores implement least uniformly).
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: PROBE_KEY }));
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw new S3StorageError(
          'HeadObject',
          statusOf(error),
          error instanceof Error ? error.message : String(error),
          { cause: error },
        );
      }
    }
    return performance.now() - started;
  }

  /**
   * A presigned GET of `key`, valid for `expiresInSeconds`: lets a process without the credentials (an operator's
   * tool, a migration job) fetch one object directly from the bucket.
   */
  presignedGetUrl(key: string, expiresInSeconds: number): Promise<string> {
    assertStorageKey(key);
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  /** Releases the client's pooled connections. */
  async close(): Promise<void> {
    this.#client.destroy();
  }
}
