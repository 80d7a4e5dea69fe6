import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MODEL_FILES } from './metadata.js';

/**
 * The committed model's directory (`packages/task-classifier/model`), resolved from `src/` and `dist/` alike,
 * so a deployable that ships this package finds the model without knowing the repository layout.
 */
export const COMMITTED_MODEL_DIR = fileURLToPath(new URL('../model', import.meta.url));

/** The committed model's `.onnx` file (its `metadata.json` lies beside it). */
export const COMMITTED_MODEL_PATH = join(COMMITTED_MODEL_DIR, MODEL_FILES.onnx);
