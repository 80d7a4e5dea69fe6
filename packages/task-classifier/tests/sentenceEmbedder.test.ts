import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_EMBEDDING_MODEL_DIR,
  embedAllCached,
  embeddingText,
  loadSentenceEmbedder,
  locateEmbeddingModel,
  readEmbeddingModels,
  textKey,
  type SentenceEmbedder,
} from '@cap/task-classifier';

const models = await readEmbeddingModels();
const spec = models['all-minilm-l6-v2-q'];
if (!spec) throw new Error('model/embedding-models.json lost all-minilm-l6-v2-q');
const located = await locateEmbeddingModel(spec, DEFAULT_EMBEDDING_MODEL_DIR);
const absent = located.ok ? '' : ` (skipped: ${located.reason})`;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, k) => sum + value * (b[k] ?? 0), 0);

describe('locateEmbeddingModel', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedding-models-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('says how to fetch a model whose files are absent', async () => {
    const result = await locateEmbeddingModel(spec, dir);
    expect(result).toEqual({
      ok: false,
      reason: expect.stringContaining('embedding-model.sh all-minilm-l6-v2-q'),
    });
  });

  it('refuses files whose sha256 is not the pinned one', async () => {
    await mkdir(join(dir, spec.id), { recursive: true });
    await writeFile(join(dir, spec.id, spec.onnx.file), 'not the model');
    await writeFile(join(dir, spec.id, spec.tokenizer.file), '{}');
    const result = await locateEmbeddingModel(spec, dir);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(`the manifest pins ${spec.onnx.sha256}`);
  });

  it('pins every model to a Maven artifact and sha256 digests', () => {
    for (const model of Object.values(models)) {
      expect(model.artifact).toMatch(/^[\w.-]+:[\w.-]+:[\w.-]+$/);
      expect(model.onnx.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(model.tokenizer.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('embeddingText', () => {
  it('reads the title and the start of the description', () => {
    expect(embeddingText({ title: 'Fix login', description: '' })).toBe('Fix login');
    expect(embeddingText({ title: 'Fix login', description: 'x'.repeat(5000) })).toBe(
      `Fix login\n${'x'.repeat(1000)}`,
    );
  });
});

describe.skipIf(!located.ok)(`loadSentenceEmbedder with all-MiniLM-L6-v2 (quantized)${absent}`, () => {
  let embedder: SentenceEmbedder;
  let cacheDir: string;
  beforeAll(async () => {
    if (!located.ok) return;
    embedder = await loadSentenceEmbedder({ ...located, prefix: spec.prefix });
    cacheDir = await mkdtemp(join(tmpdir(), 'embedding-cache-'));
  });
  afterAll(async () => {
    await embedder?.release();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('gives 384 unit-length floats per text and records the sha256 it loaded', async () => {
    expect(embedder.dimensions).toBe(384);
    expect(embedder.onnxSha256).toBe(spec.onnx.sha256);
    expect(embedder.tokenizerSha256).toBe(spec.tokenizer.sha256);
    const vectors = await embedder.embed(['Fix the login crash', '', '修复 bug 🙂', 'x'.repeat(10_000)]);
    expect(vectors).toHaveLength(4);
    for (const vector of vectors) {
      expect(vector).toHaveLength(384);
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(dot(vector, vector)).toBeCloseTo(1, 4);
    }
  });

  it('gives a text nearly the same vector alone as padded in a batch with longer texts', async () => {
    const short = 'Fix crash on empty email';
    const long = `Add dark mode to the settings page\n${'The theme follows the system preference. '.repeat(20)}`;
    const [alone] = (await embedder.embed([short])) as [Float32Array];
    const inBatch = (await embedder.embed([long, short, long]))[1] as Float32Array;
    // Padding is masked out of attention and pooling, but the quantized graph scales its activations per
    // tensor (DynamicQuantizeLinear over the whole batch), so a batch moves a vector slightly (cosine 0.993
    // measured), never to another place.
    expect(dot(alone, inBatch)).toBeGreaterThan(0.98);
    const [again] = (await embedder.embed([short])) as [Float32Array];
    expect([...again]).toEqual([...alone]);
  });

  it('puts a paraphrase closer than an unrelated task', async () => {
    const [a, b, c] = (await embedder.embed([
      'Fix crash when the login email is empty',
      'Login crashes on an empty email address',
      'Add a dark theme to the settings page',
    ])) as [Float32Array, Float32Array, Float32Array];
    expect(dot(a, b)).toBeGreaterThan(dot(a, c) + 0.3);
  });

  it('caches vectors on disk by text, so a second call embeds nothing and returns the same vectors', async () => {
    const texts = ['Fix login', 'Add docs for the API', 'Fix login', 'Refactor the parser'];
    const first = await embedAllCached({ embedder, texts, cacheDir, variant: 'test' });
    expect(first.size).toBe(3);
    const file = join(cacheDir, (await readdir(cacheDir))[0] ?? '');
    const size = (await stat(file)).size;
    expect(size).toBe(3 * (32 + 4 * 384));
    let embedded = 0;
    const second = await embedAllCached({
      embedder,
      texts,
      cacheDir,
      variant: 'test',
      onProgress: (progress) => (embedded += progress.done),
    });
    expect(embedded).toBe(0);
    expect((await stat(file)).size).toBe(size);
    expect([...(second.get(textKey('Fix login')) ?? [])]).toEqual([
      ...(first.get(textKey('Fix login')) ?? []),
    ]);
    // An append cut short (a killed run) loses only its last record, which is embedded again.
    await truncate(file, size - 10);
    const third = await embedAllCached({ embedder, texts, cacheDir, variant: 'test' });
    expect(third.size).toBe(3);
    expect((await stat(file)).size).toBe(size);
    const fourth = await embedAllCached({ embedder, texts, cacheDir, variant: 'test' });
    // The re-embedded text ran in a batch of its own, so it matches its first vector up to batch effects.
    for (const [key, vector] of first)
      expect(dot(fourth.get(key) as Float32Array, vector)).toBeGreaterThan(0.98);
    expect(
      [...fourth.values()].filter(
        (vector, index) =>
          [...vector].join() === [...(first.get([...fourth.keys()][index] ?? '') ?? [])].join(),
      ),
    ).toHaveLength(2);
    // Another variant (prefix, token limit) never reads this one's vectors.
    await embedAllCached({ embedder, texts: ['Fix login'], cacheDir, variant: 'other' });
    expect((await readdir(cacheDir)).length).toBe(2);
  });
});
