import { join } from 'node:path';
import { ErrorCode } from '@cap/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadClassifier,
  MAX_DESCRIPTION_CHARS,
  MAX_TITLE_CHARS,
  MODEL_FILES,
  TYPE_LABELS,
  COMPLEXITY_LABELS,
  type Classification,
  type TaskClassifier,
} from '@cap/task-classifier';

const modelPath = join(import.meta.dirname, '..', 'model', MODEL_FILES.onnx);

function expectWellFormed(result: Classification) {
  for (const [head, labels] of [
    ['type', TYPE_LABELS],
    ['complexity', COMPLEXITY_LABELS],
  ] as const) {
    const answer = result[head];
    expect(labels).toContain(answer.label);
    const probabilities = Object.values(answer.probabilities) as number[];
    expect(Object.keys(answer.probabilities).sort()).toEqual([...labels].sort());
    expect(probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 4);
    expect(answer.confidence).toBeCloseTo(
      answer.probabilities[answer.label as keyof typeof answer.probabilities],
      6,
    );
    expect(['HEURISTIC', 'MODEL']).toContain(answer.decidedBy);
  }
}

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { extensions?: { code?: unknown } }).extensions?.code;
  }
}

describe('the committed classifier', () => {
  let classifier: TaskClassifier;

  beforeAll(async () => {
    classifier = await loadClassifier({ modelPath });
  });
  afterAll(() => classifier?.release());

  it('loads with its version, label maps, provenance and metrics', () => {
    expect(classifier.version).toMatch(/^task-classifier-/);
    expect(classifier.metadata.labels.type).toEqual([...TYPE_LABELS]);
    const provenance = classifier.metadata.provenance as {
      repositories: { repo: string; role: string }[];
      heldOutRepositories: string[];
    };
    expect(provenance.repositories.length).toBeGreaterThan(0);
    expect(provenance.heldOutRepositories.length).toBeGreaterThan(0);
    expect(classifier.metadata.metrics).toHaveProperty('heldOutRepositories');
    expect(classifier.metadata.metrics).toHaveProperty('stratifiedTest');
  });

  it('answers ordinary tasks with well-formed classifications', async () => {
    for (const text of [
      {
        title: 'Login page crashes when the email contains a plus sign',
        description: 'TypeError: Cannot read properties of undefined\n    at parse (src/auth/email.ts:12:5)',
      },
      { title: 'Add an endpoint to export invoices as CSV', description: 'Finance needs a monthly export.' },
      { title: 'Fix typo in README', description: '' },
      {
        title: 'Split the orchestration resolver into smaller modules',
        description: 'It is 900 lines long.',
      },
    ]) {
      expectWellFormed(await classifier.classify(text));
    }
  });

  it('gives a low-confidence OTHER / SIMPLE for empty input and for text with no known word', async () => {
    for (const text of [
      { title: '', description: '' },
      { title: '   ', description: '\n\n' },
      { title: '修复登录页面的崩溃问题', description: '用户无法登录。' },
      { title: '🙂🙂🙂', description: '' },
    ]) {
      const result = await classifier.classify(text);
      expectWellFormed(result);
      expect(result.type.label).toBe('OTHER');
      expect(result.complexity.label).toBe('SIMPLE');
      expect(result.type.confidence).toBeLessThanOrEqual(0.3);
    }
  });

  it('answers other languages, control characters and lone surrogates without crashing', async () => {
    for (const text of [
      {
        title: 'Corriger le plantage de la page de connexion',
        description: 'Les utilisateurs ne peuvent pas se connecter.',
      },
      { title: 'Добавить экспорт в CSV', description: '' },
      { title: 'fix\u0000 the \ud800 parser\u202e', description: '\u0007'.repeat(100) },
    ]) {
      expectWellFormed(await classifier.classify(text));
    }
  });

  it('rejects input over the length caps, of the wrong shape or type with BAD_USER_INPUT', async () => {
    const megabyte = 'a'.repeat(1024 * 1024);
    expect(await codeOf(classifier.classify({ title: 'x', description: megabyte }))).toBe(
      ErrorCode.BAD_USER_INPUT,
    );
    expect(await codeOf(classifier.classify({ title: megabyte, description: '' }))).toBe(
      ErrorCode.BAD_USER_INPUT,
    );
    expect(
      await codeOf(classifier.classify({ title: 'x'.repeat(MAX_TITLE_CHARS + 1), description: '' })),
    ).toBe(ErrorCode.BAD_USER_INPUT);
    expect(
      await codeOf(classifier.classify({ title: 'x', description: 'y'.repeat(MAX_DESCRIPTION_CHARS + 1) })),
    ).toBe(ErrorCode.BAD_USER_INPUT);
    for (const bad of [
      null,
      undefined,
      'text',
      42,
      [],
      {},
      { title: 7 },
      { title: 'x', description: {} },
      { description: 'no title' },
    ]) {
      expect(await codeOf(classifier.classify(bad as never))).toBe(ErrorCode.BAD_USER_INPUT);
    }
  });

  it('answers input at the caps, and a missing description counts as empty', async () => {
    expectWellFormed(
      await classifier.classify({
        title: 'x'.repeat(MAX_TITLE_CHARS),
        description: 'word '.repeat(MAX_DESCRIPTION_CHARS / 5),
      }),
    );
    expectWellFormed(await classifier.classify({ title: 'Add dark mode' } as never));
  });

  it('lets a confident heuristic decide in HYBRID mode and never in MODEL mode', async () => {
    const hybrid = await loadClassifier({ modelPath, mode: 'HYBRID', heuristicThreshold: 0.9 });
    const model = await loadClassifier({ modelPath, mode: 'MODEL' });
    const heuristic = await loadClassifier({ modelPath, mode: 'HEURISTIC' });
    try {
      expect((await hybrid.classify({ title: 'Fix typo in README', description: '' })).type).toMatchObject({
        label: 'DOCUMENTATION',
        decidedBy: 'HEURISTIC',
        confidence: 0.9,
      });
      expect((await hybrid.classify({ title: 'bump vite to 5.0.2', description: '' })).type).toMatchObject({
        label: 'CHORE',
        decidedBy: 'HEURISTIC',
      });
      // Below the threshold the model decides.
      expect(
        (await hybrid.classify({ title: 'Add dark mode to the settings page', description: '' })).type
          .decidedBy,
      ).toBe('MODEL');
      expect((await model.classify({ title: 'Fix typo in README', description: '' })).type.decidedBy).toBe(
        'MODEL',
      );
      expect((await heuristic.classify({ title: 'bump vite to 5.0.2', description: '' })).type).toMatchObject(
        { decidedBy: 'HEURISTIC', label: 'CHORE' },
      );
    } finally {
      await Promise.all([hybrid.release(), model.release(), heuristic.release()]);
    }
  });
});
