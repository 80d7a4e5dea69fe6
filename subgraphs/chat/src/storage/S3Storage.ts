import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assertStorageKey, type AttachmentStorage } from './AttachmentStorage.js';
import { EMPTY_PAYLOAD_HASH, sha256Hex, signRequest, type SigV4Credentials } from './sigv4.js';

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`. */
  endpoint: string;
  region: string;
  bucket: string;
  credentials: SigV4Credentials;
  /** `endpoint/bucket/key` (true) or `bucket.endpoint/key` (false). */
  forcePathStyle: boolean;
  /** Per-request timeout, ms (default 30_000). */
  timeoutMs?: number;
}

/** Raised when the store answers with an unexpected status. */
export class S3StorageError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    detail: string,
  ) {
    super(`S3 ${operation} failed with HTTP ${status}: ${detail.slice(0, 300)}`);
    this.name = 'S3StorageError';
  }
}

/**
 * Attachments in an S3-compatible bucket through plain `fetch` and our SigV4 signer. Objects are written with
 * one signed PUT of the whole body: uploads are capped (ATTACHMENT_MAX_BYTES) and checked while they stream in,
 * so the body is buffered and sent only once it passed every check; a rejected upload never reaches the bucket.
 * Untested against a live S3 (none is reachable from CI); the signer is tested against AWS's examples.
 */
export class S3Storage implements AttachmentStorage {
  readonly kind = 's3';
  readonly #options: S3StorageOptions;

  constructor(options: S3StorageOptions) {
    this.#options = options;
  }

  #url(key?: string): URL {
    const endpoint = new URL(this.#options.endpoint);
    const path = key === undefined ? '' : `/${key}`;
    if (this.#options.forcePathStyle) {
      return new URL(`${endpoint.origin}${endpoint.pathname.replace(/\/$/, '')}/${this.#options.bucket}${path}`);
    }
    return new URL(`${endpoint.protocol}//${this.#options.bucket}.${endpoint.host}${endpoint.pathname.replace(/\/$/, '')}${path || '/'}`);
  }

  async #send(operation: string, method: string, url: URL, body?: Buffer, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const payloadHash = body ? sha256Hex(body) : EMPTY_PAYLOAD_HASH;
    const headers = signRequest(
      { method, url, headers: { host: url.host, 'x-amz-content-sha256': payloadHash, ...extraHeaders }, payloadHash },
      this.#options.credentials,
      { region: this.#options.region, service: 's3', date: new Date() },
    );
    // fetch sets Host itself from the URL (the same value that was signed).
    delete headers['host'];
    try {
      return await fetch(url, {
        method,
        headers,
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new S3StorageError(operation, 0, error instanceof Error ? error.message : String(error));
    }
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: { contentType: string }): Promise<void> {
    assertStorageKey(key);
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const buffer = Buffer.concat(chunks);
    const response = await this.#send('PutObject', 'PUT', this.#url(key), buffer, {
      'content-type': options.contentType,
      'content-length': String(buffer.length),
    });
    if (!response.ok) throw new S3StorageError('PutObject', response.status, await response.text());
  }

  async get(key: string): Promise<Readable | null> {
    assertStorageKey(key);
    const response = await this.#send('GetObject', 'GET', this.#url(key));
    if (response.status === 404) return null;
    if (!response.ok || !response.body) throw new S3StorageError('GetObject', response.status, await response.text());
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  async delete(key: string): Promise<void> {
    assertStorageKey(key);
    const response = await this.#send('DeleteObject', 'DELETE', this.#url(key));
    if (!response.ok && response.status !== 404) throw new S3StorageError('DeleteObject', response.status, await response.text());
  }

  async ping(): Promise<number> {
    const started = performance.now();
    const response = await this.#send('HeadBucket', 'HEAD', this.#url());
    if (!response.ok) throw new S3StorageError('HeadBucket', response.status, '');
    return performance.now() - started;
  }
}
