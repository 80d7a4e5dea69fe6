import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportOnnx,
  loadClassifier,
  MODEL_FILES,
  readGitCommits,
  readOnnxHeads,
  saveModel,
  seededRandom,
  train,
  type TaskClassifier,
  type TrainedModel,
} from '@cap/task-classifier';
import { conventionalHistory, createFixtureRepo, type FixtureRepo } from './fixtureRepo.js';

/** Texts built from the model's own vocabulary, code-like noise and other scripts, so every feature block fires. */
function generatedTexts(model: TrainedModel, count: number): { title: string; description: string }[] {
  const random = seededRandom(7);
  const words = model.features.terms
    .filter((term) => term.startsWith('t:') || term.startsWith('d:') || term.startsWith('e:'))
    .map((term) => term.slice(2));
  const extras = [
    'src/app.ts',
    '`config.json`',
    'at render (src/a.ts:1:2)',
    'TypeError: x is undefined',
    '#123',
    'v1.2.3',
    '日本語のテキスト',
    'ÉÀÜ',
    'this, that and more',
    '\n\nsecond paragraph',
    '```ts\nconst a = 1;\n```',
    '- item',
  ];
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, (_, index) => {
    const titleWords = Array.from({ length: 1 + Math.floor(random() * 8) }, () => pick(words));
    const descriptionWords = Array.from({ length: Math.floor(random() * 40) }, () =>
      random() < 0.15 ? pick(extras) : pick(words),
    );
    return {
      title: index % 17 === 0 ? '' : titleWords.join(' '),
      description: descriptionWords.join(random() < 0.3 ? '\n' : ' '),
    };
  });
}

describe('ONNX export', () => {
  let repo: FixtureRepo;
  let dir: string;
  let model: TrainedModel;
  let classifier: TaskClassifier;

  beforeAll(async () => {
    repo = createFixtureRepo(conventionalHistory(6));
    const corpus = await readGitCommits(
      { repo: 'acme/fixture', gitDir: repo.gitDir },
      { maxExamples: 1000, maxCommits: 1000, maxBotShare: 0.1 },
    );
    model = train({
      examples: corpus.examples,
      options: {
        epochs: 8,
        seed: 3,
        vocabulary: {
          titleWords: 300,
          descriptionWords: 100,
          titleChars: 400,
          descriptionBigrams: 100,
          minDocumentFrequency: 1,
        },
      },
    });
    dir = mkdtempSync(join(tmpdir(), 'task-classifier-model-'));
    await saveModel(dir, model, { heuristicThreshold: 0.9, provenance: { test: true }, metrics: {} });
    classifier = await loadClassifier({ modelPath: join(dir, MODEL_FILES.onnx), mode: 'MODEL' });
  });
  afterAll(async () => {
    await classifier?.release();
    repo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same probabilities in onnxruntime as the TypeScript model over many generated inputs', async () => {
    // Every term block is in the vocabulary, so every block of the vector is compared.
    for (const block of ['t:', 'd:', 'c:', 'e:'])
      expect(
        model.features.terms.some((term) => term.startsWith(block)),
        block,
      ).toBe(true);
    let compared = 0;
    for (const text of generatedTexts(model, 400)) {
      const onnx = await classifier.predict(text);
      const reference = classifier.typescript.predict(text);
      for (const head of ['type', 'complexity'] as const) {
        expect(onnx[head].length).toBe(reference[head].length);
        for (let c = 0; c < reference[head].length; c += 1) {
          expect(Math.abs((onnx[head][c] ?? 0) - (reference[head][c] ?? 0))).toBeLessThan(1e-5);
          compared += 1;
        }
      }
    }
    expect(compared).toBe(400 * 10);
  });

  it('round-trips the weights through the ONNX file bit for bit', () => {
    const heads = readOnnxHeads(exportOnnx(model));
    expect(heads.type.weights).toEqual(model.heads.type.weights);
    expect(heads.complexity.bias).toEqual(model.heads.complexity.bias);
    expect(heads.version).toBe(model.version);
  });

  it('learns the fixture history well enough to separate its types', async () => {
    const result = await classifier.classify({ title: 'handle undefined props in render', description: '' });
    expect(result.type.label).toBe('BUG_FIX');
    expect(result.type.decidedBy).toBe('MODEL');
    expect(result.modelVersion).toBe(model.version);
  });

  it('trains reproducibly for a seed and accepts outcome examples beside the corpus', async () => {
    const corpus = await readGitCommits(
      { repo: 'acme/fixture', gitDir: repo.gitDir },
      { maxExamples: 1000, maxCommits: 1000, maxBotShare: 0.1 },
    );
    const options = {
      epochs: 3,
      seed: 5,
      vocabulary: { titleWords: 100, descriptionWords: 50, titleChars: 100, minDocumentFrequency: 1 },
    };
    const outcomes = [
      {
        title: 'make the sidebar collapsible',
        description: 'Users asked for it.',
        filesChanged: 1,
        linesChanged: 12,
      },
      {
        title: 'move storage to a new driver',
        description: '',
        filesChanged: 9,
        linesChanged: 700,
        type: 'REFACTOR' as const,
      },
    ];
    const first = train({ examples: [...corpus.examples, ...outcomes], options });
    const second = train({ examples: [...corpus.examples, ...outcomes], options });
    expect(first.heads.type.weights).toEqual(second.heads.type.weights);
    expect(first.trainedOn).toEqual({
      examples: corpus.examples.length + 2,
      typeLabelled: corpus.examples.length + 1,
      complexityLabelled: corpus.examples.length + 2,
    });
    // Plain data: it can cross a worker-thread boundary.
    expect(structuredClone(first).heads.complexity.bias).toEqual(first.heads.complexity.bias);
  });
});
