import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TaskComplexity, TaskType } from '@cap/events';
import type { FeatureSpec } from './features.js';
import { exportOnnx, ONNX_NAMES, readOnnxHeads } from './onnx.js';
import type { TrainedModel, TrainOptions } from './train.js';

/** File names inside a model directory. */
export const MODEL_FILES = {
  onnx: 'task-classifier.onnx',
  metadata: 'metadata.json',
  sources: 'sources.json',
} as const;

/**
 * metadata.json: everything about a model except its weights (those are in the .onnx): version, feature
 * spec (vocabulary and IDF), label maps, training options, provenance and the evaluation.
 */
export interface ModelMetadata {
  format: 1;
  version: string;
  createdAt: string;
  onnx: {
    file: string;
    sha256: string;
    input: string;
    outputs: { type: string; complexity: string };
    opset: number;
  };
  labels: { type: TaskType[]; complexity: TaskComplexity[] };
  features: FeatureSpec;
  options: TrainOptions;
  trainedOn: TrainedModel['trainedOn'];
  /** The heuristic confidence at which the hybrid lets the heuristic decide. */
  heuristicThreshold: number;
  /** Where the training data came from and how it was labelled (free-form, written by the training command). */
  provenance: Record<string, unknown>;
  /** Evaluation results (free-form, written by the training command). */
  metrics: Record<string, unknown>;
}

/** Writes `<dir>/task-classifier.onnx` and `<dir>/metadata.json`; returns the metadata written. */
export async function saveModel(
  dir: string,
  model: TrainedModel,
  extra: {
    heuristicThreshold: number;
    provenance: Record<string, unknown>;
    metrics: Record<string, unknown>;
  },
): Promise<ModelMetadata> {
  const bytes = exportOnnx(model);
  const metadata: ModelMetadata = {
    format: 1,
    version: model.version,
    createdAt: model.createdAt,
    onnx: {
      file: MODEL_FILES.onnx,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      input: ONNX_NAMES.input,
      outputs: { type: ONNX_NAMES.typeOutput, complexity: ONNX_NAMES.complexityOutput },
      opset: 13,
    },
    labels: model.labels,
    features: model.features,
    options: model.options,
    trainedOn: model.trainedOn,
    ...extra,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_FILES.onnx), bytes);
  await writeFile(join(dir, MODEL_FILES.metadata), `${JSON.stringify(metadata, null, 1)}\n`);
  return metadata;
}

/** Reads a model's metadata (beside the .onnx unless `metadataPath` says otherwise) and ONNX bytes. */
export async function readModelFiles(
  modelPath: string,
  metadataPath?: string,
): Promise<{ bytes: Uint8Array; metadata: ModelMetadata }> {
  const [bytes, text] = await Promise.all([
    readFile(modelPath),
    readFile(metadataPath ?? join(dirname(modelPath), MODEL_FILES.metadata), 'utf8'),
  ]);
  const metadata = JSON.parse(text) as ModelMetadata;
  if (metadata.format !== 1)
    throw new Error(`unsupported task-classifier metadata format ${String(metadata.format)}`);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== metadata.onnx.sha256)
    throw new Error(
      `${modelPath} does not match its metadata (sha256 ${digest}, expected ${metadata.onnx.sha256})`,
    );
  return { bytes: new Uint8Array(bytes), metadata };
}

/** Rebuilds the TypeScript model from saved files (weights from the ONNX initializers, the rest from metadata). */
export function modelFromFiles(bytes: Uint8Array, metadata: ModelMetadata): TrainedModel {
  const heads = readOnnxHeads(bytes);
  return {
    version: metadata.version,
    createdAt: metadata.createdAt,
    features: metadata.features,
    labels: metadata.labels,
    heads: { type: heads.type, complexity: heads.complexity },
    options: metadata.options,
    trainedOn: metadata.trainedOn,
  };
}
