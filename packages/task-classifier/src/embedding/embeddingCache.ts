import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { SentenceEmbedder } from './sentenceEmbedder.js';

const KEY_BYTES = 32;

/** sha256 of a text as it is embedded; the cache's key. */
export const textKey = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Progress of {@link embedAllCached}: texts embedded so far in this call, and how many were missing. */
export interface EmbedProgress {
  done: number;
  missing: number;
  cached: number;
  /** Milliseconds per text in this call so far. */
  msPerText: number;
}

/**
 * Embeds every text, reading and appending vectors to one file per (model sha256, tokenizer sha256, prefix,
 * token limit) under `cacheDir`: records of 32 key bytes and `dimensions` float32s, so a run that stops
 * keeps what it embedded and a rerun embeds nothing. Returns key → vector for the texts it has.
 */
export async function embedAllCached(args: {
  embedder: SentenceEmbedder;
  texts: Iterable<string>;
  cacheDir: string;
  /** What else shapes a vector besides the model files (prefix, token limit). */
  variant: string;
  batchSize?: number;
  /** False: only read the cache, embed nothing (the result lacks the missing texts). Default true. */
  embedMissing?: boolean;
  onProgress?: (progress: EmbedProgress) => void;
}): Promise<Map<string, Float32Array>> {
  const { embedder } = args;
  const d = embedder.dimensions;
  const variantHash = createHash('sha256')
    .update(`${embedder.onnxSha256}\n${embedder.tokenizerSha256}\n${args.variant}`)
    .digest('hex')
    .slice(0, 24);
  await mkdir(args.cacheDir, { recursive: true });
  const file = join(args.cacheDir, `${variantHash}-${d}.bin`);
  const vectors = new Map<string, Float32Array>();
  if (existsSync(file)) {
    const bytes = await readFile(file);
    const record = KEY_BYTES + 4 * d;
    // A record cut short by an interrupted append is cut off (and embedded again), so appends stay aligned.
    const whole = bytes.length - (bytes.length % record);
    if (whole !== bytes.length) await truncate(file, whole);
    for (let offset = 0; offset + record <= whole; offset += record) {
      const key = bytes.subarray(offset, offset + KEY_BYTES).toString('hex');
      const vector = new Float32Array(d);
      for (let k = 0; k < d; k += 1) vector[k] = bytes.readFloatLE(offset + KEY_BYTES + 4 * k);
      vectors.set(key, vector);
    }
  }
  const cached = vectors.size;
  const missing = new Map<string, string>();
  const wanted = new Set<string>();
  for (const text of args.texts) {
    const key = textKey(text);
    wanted.add(key);
    if (!vectors.has(key)) missing.set(key, text);
  }
  // Texts are embedded in the order given (a caller can put what it needs first and stop any time), sorted by
  // length only within each chunk written, so padding costs little.
  const order = args.embedMissing === false ? [] : [...missing.entries()];
  const batchSize = args.batchSize ?? 32;
  const started = performance.now();
  let done = 0;
  for (let start = 0; start < order.length; start += batchSize * 8) {
    const chunk = order.slice(start, start + batchSize * 8).sort((a, b) => a[1].length - b[1].length);
    const out = Buffer.alloc(chunk.length * (KEY_BYTES + 4 * d));
    for (let b = 0; b < chunk.length; b += batchSize) {
      const batch = chunk.slice(b, b + batchSize);
      const embedded = await embedder.embed(batch.map(([, text]) => text));
      for (const [i, [key]] of batch.entries()) {
        const vector = embedded[i] as Float32Array;
        vectors.set(key, vector);
        const offset = (b + i) * (KEY_BYTES + 4 * d);
        out.write(key, offset, 'hex');
        for (let k = 0; k < d; k += 1) out.writeFloatLE(vector[k] ?? 0, offset + KEY_BYTES + 4 * k);
      }
    }
    await appendFile(file, out);
    done += chunk.length;
    args.onProgress?.({
      done,
      missing: order.length,
      cached,
      msPerText: (performance.now() - started) / done,
    });
  }
  for (const key of vectors.keys()) if (!wanted.has(key)) vectors.delete(key);
  return vectors;
}
