import * as ort from 'onnxruntime-node';
import type { TaskText } from './examples.js';
import {
  combine,
  DEFAULT_HEURISTIC_THRESHOLD,
  TypeScriptModel,
  type Classification,
  type ClassifierMode,
  type ModelOutput,
} from './classification.js';
import { featureCount } from './features.js';
import { validateTaskText } from './input.js';
import { modelFromFiles, readModelFiles, type ModelMetadata } from './metadata.js';

/** Where the model is and how to combine it with the heuristic. */
export interface LoadClassifierOptions {
  /** Path of the `.onnx` file; `metadata.json` is read from the same directory unless `metadataPath` is set. */
  modelPath: string;
  metadataPath?: string;
  /** HYBRID (default), MODEL only, or HEURISTIC only. */
  mode?: ClassifierMode;
  /** Heuristic confidence at which the hybrid lets it decide; default the model's own, else 0.9. */
  heuristicThreshold?: number;
  /** onnxruntime threads per inference; default 1 (one request is tiny, and the process serves others). */
  intraOpNumThreads?: number;
}

/** A loaded classifier. `classify` validates its input (BAD_USER_INPUT on bad input) and never blocks on I/O. */
export interface TaskClassifier {
  classify(input: TaskText): Promise<Classification>;
  /** The model's probabilities from onnxruntime, no heuristic, for tests and benchmarks. */
  predict(input: TaskText): Promise<ModelOutput>;
  /** The same model evaluated in TypeScript: the reference and the benchmark's baseline. */
  typescript: TypeScriptModel;
  version: string;
  metadata: ModelMetadata;
  /** Frees the onnxruntime session. */
  release(): Promise<void>;
}

/** Loads a model written by the training command and opens an onnxruntime session on it. */
export async function loadClassifier(options: LoadClassifierOptions): Promise<TaskClassifier> {
  const { bytes, metadata } = await readModelFiles(options.modelPath, options.metadataPath);
  const typescript = new TypeScriptModel(modelFromFiles(bytes, metadata));
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const width = featureCount(metadata.features);
  const mode = options.mode ?? 'HYBRID';
  const threshold = options.heuristicThreshold ?? metadata.heuristicThreshold ?? DEFAULT_HEURISTIC_THRESHOLD;

  const predict = async (text: TaskText): Promise<ModelOutput> => {
    const { vector, knownTerms } = typescript.features(text);
    const dense = new Float32Array(width);
    for (let k = 0; k < vector.indices.length; k += 1) dense[vector.indices[k] ?? 0] = vector.values[k] ?? 0;
    const results = await session.run({
      [metadata.onnx.input]: new ort.Tensor('float32', dense, [1, width]),
    });
    const type = results[metadata.onnx.outputs.type]?.data as Float32Array;
    const complexity = results[metadata.onnx.outputs.complexity]?.data as Float32Array;
    return { type, complexity, knownTerms };
  };

  return {
    async classify(input) {
      const text = validateTaskText(input);
      const output = mode === 'HEURISTIC' ? undefined : await predict(text);
      return combine(text, output, mode, threshold, metadata.version);
    },
    predict: (input) => predict(validateTaskText(input)),
    typescript,
    version: metadata.version,
    metadata,
    release: () => session.release(),
  };
}
