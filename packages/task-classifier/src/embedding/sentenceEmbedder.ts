import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { WordPieceTokenizer } from './wordPiece.js';

/** A sentence-embedding model on disk: a BERT-style ONNX encoder and its `tokenizer.json`. */
export interface SentenceEmbedderOptions {
  onnxPath: string;
  tokenizerPath: string;
  /** Prepended to every text (e5 models are trained with `query: `); default none. */
  prefix?: string;
  /** Tokens per text, `[CLS]` and `[SEP]` included; default 128. */
  maxTokens?: number;
  /** onnxruntime threads per run; default 1. */
  intraOpNumThreads?: number;
}

/** Loaded encoder: texts in, L2-normalised mean-pooled vectors out. */
export interface SentenceEmbedder {
  dimensions: number;
  /** sha256 of the ONNX file, so cached vectors and trained weights can name exactly what produced them. */
  onnxSha256: string;
  tokenizerSha256: string;
  tokenizer: WordPieceTokenizer;
  /** One vector per text, `dimensions` floats each, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Opens an encoder whose graph takes `input_ids`, `attention_mask` (and optionally `token_type_ids`), int64
 * `[batch, tokens]`, and returns `last_hidden_state` `[batch, tokens, dimensions]`. A batch is padded to its
 * longest text; pooling averages only the real tokens, so a text's vector does not depend on its batch.
 */
export async function loadSentenceEmbedder(options: SentenceEmbedderOptions): Promise<SentenceEmbedder> {
  const [onnxBytes, tokenizerText] = await Promise.all([
    readFile(options.onnxPath),
    readFile(options.tokenizerPath, 'utf8'),
  ]);
  const tokenizer = WordPieceTokenizer.fromJson(tokenizerText);
  const session = await ort.InferenceSession.create(onnxBytes, {
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const wantsTypes = session.inputNames.includes('token_type_ids');
  const output = session.outputNames.includes('last_hidden_state')
    ? 'last_hidden_state'
    : (session.outputNames[0] ?? '');
  const prefix = options.prefix ?? '';
  const maxTokens = options.maxTokens ?? 128;
  let dimensions = 0;

  const embed = async (texts: readonly string[]): Promise<Float32Array[]> => {
    if (texts.length === 0) return [];
    const encodings = texts.map((text) => tokenizer.encode(prefix + text, maxTokens).ids);
    const length = Math.max(...encodings.map((ids) => ids.length));
    const ids = new BigInt64Array(texts.length * length);
    const mask = new BigInt64Array(texts.length * length);
    for (const [row, encoding] of encodings.entries()) {
      for (let t = 0; t < length; t += 1) {
        ids[row * length + t] = BigInt(encoding[t] ?? tokenizer.padId);
        mask[row * length + t] = t < encoding.length ? 1n : 0n;
      }
    }
    const shape = [texts.length, length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, shape),
      attention_mask: new ort.Tensor('int64', mask, shape),
    };
    if (wantsTypes) feeds['token_type_ids'] = new ort.Tensor('int64', new BigInt64Array(ids.length), shape);
    const results = await session.run(feeds);
    const hidden = results[output];
    if (!hidden || hidden.dims.length !== 3)
      throw new Error(`the encoder returned no ${output} [batch, tokens, d]`);
    const d = Number(hidden.dims[2]);
    dimensions = d;
    const data = hidden.data as Float32Array;
    return encodings.map((encoding, row) => {
      const vector = new Float32Array(d);
      for (let t = 0; t < encoding.length; t += 1) {
        const offset = (row * length + t) * d;
        for (let k = 0; k < d; k += 1) vector[k] = (vector[k] ?? 0) + (data[offset + k] ?? 0);
      }
      let norm = 0;
      for (let k = 0; k < d; k += 1) {
        const mean = (vector[k] ?? 0) / encoding.length;
        vector[k] = mean;
        norm += mean * mean;
      }
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let k = 0; k < d; k += 1) vector[k] = (vector[k] ?? 0) * scale;
      return vector;
    });
  };

  // One probe run fixes the width, so callers can size their feature vectors before the first text.
  await embed(['']);
  return {
    dimensions,
    onnxSha256: sha256(onnxBytes),
    tokenizerSha256: sha256(Buffer.from(tokenizerText, 'utf8')),
    tokenizer,
    embed,
    release: () => session.release(),
  };
}
