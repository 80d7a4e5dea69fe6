import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@cap/runtime';
import {
  loadClassifier,
  MODEL_FILES,
  type Classification,
  type ClassifierMode,
  type TaskClassifier,
  type TaskText,
} from '@cap/task-classifier';

/** A stored model version, as much of it as loading needs. */
export interface StoredModel {
  id: string;
  version: string;
  sha256: string;
  onnx: Uint8Array;
  metadata: unknown;
}

interface Loaded {
  id: string;
  classifier: TaskClassifier;
  inFlight: number;
  retired: boolean;
}

/**
 * The active model version loaded in onnxruntime. Activation swaps it without stopping classification: calls
 * in flight finish on the model they started with, which is released once the last one returns.
 */
export class ActiveModel {
  #current: Loaded | null = null;
  #loading: Promise<void> | null = null;

  constructor(
    private readonly options: {
      cacheDir: string;
      mode: ClassifierMode;
      heuristicThreshold: number | undefined;
      logger: Logger;
    },
  ) {}

  /** Id of the loaded version, null before the first load. */
  get id(): string | null {
    return this.#current?.id ?? null;
  }

  /** Version string of the loaded model. */
  get version(): string {
    return this.#current?.classifier.version ?? 'none';
  }

  /** Loads `model` (unless it is the one loaded) and makes it the one `classify` uses. */
  async use(model: StoredModel): Promise<void> {
    if (this.#current?.id === model.id) return;
    // One load at a time: two activations in a row end with the later one.
    const previous = this.#loading ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.#current?.id === model.id) return;
      const modelPath = await this.#unpack(model);
      const classifier = await loadClassifier({
        modelPath,
        mode: this.options.mode,
        ...(this.options.heuristicThreshold === undefined
          ? {}
          : { heuristicThreshold: this.options.heuristicThreshold }),
      });
      const old = this.#current;
      this.#current = { id: model.id, classifier, inFlight: 0, retired: false };
      if (old) this.#retire(old);
      this.options.logger.info({ modelId: model.id, version: model.version }, 'classifier model loaded');
    });
    this.#loading = next.catch(() => undefined);
    await next;
  }

  /** Classifies with the loaded model; BAD_USER_INPUT (from the package) on invalid input. */
  async classify(text: TaskText): Promise<Classification> {
    const loaded = this.#current;
    if (!loaded) throw new Error('no classifier model is loaded');
    loaded.inFlight += 1;
    try {
      return await loaded.classifier.classify(text);
    } finally {
      loaded.inFlight -= 1;
      if (loaded.retired && loaded.inFlight === 0) void this.#release(loaded);
    }
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.#loading;
    const loaded = this.#current;
    this.#current = null;
    if (loaded) {
      loaded.retired = true;
      if (loaded.inFlight === 0) await this.#release(loaded);
    }
  }

  #retire(loaded: Loaded): void {
    loaded.retired = true;
    if (loaded.inFlight === 0) void this.#release(loaded);
  }

  async #release(loaded: Loaded): Promise<void> {
    await loaded.classifier
      .release()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'releasing a model failed'));
  }

  /** Writes the version's files once under the cache (by content hash); onnxruntime and the loader read files. */
  async #unpack(model: StoredModel): Promise<string> {
    const dir = join(this.options.cacheDir, model.sha256);
    const modelPath = join(dir, MODEL_FILES.onnx);
    if (existsSync(modelPath) && existsSync(join(dir, MODEL_FILES.metadata))) return modelPath;
    await mkdir(dir, { recursive: true });
    // Written under temporary names and renamed: a reader never sees half a file.
    const suffix = `.${process.pid}.${Date.now()}.tmp`;
    await writeFile(join(dir, MODEL_FILES.metadata + suffix), JSON.stringify(model.metadata));
    await writeFile(modelPath + suffix, model.onnx);
    await rename(join(dir, MODEL_FILES.metadata + suffix), join(dir, MODEL_FILES.metadata));
    await rename(modelPath + suffix, modelPath);
    return modelPath;
  }
}
