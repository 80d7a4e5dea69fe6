import { ErrorCode } from '@cap/runtime';
import { errorCodes, seededRandom, userPrincipal } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFY, startClassifierHarness, type ClassifierHarness } from './harness.js';

/**
 * `classifyTask` previews: real answers for real text, clear low-confidence answers for empty, noise and
 * non-English text, coded errors for oversized or malformed input and for callers without `tasks:read`.
 */
let harness: ClassifierHarness;
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  harness = await startClassifierHarness();
});
afterAll(async () => {
  await harness?.[Symbol.asyncDispose]();
});

describe('classifyTask', () => {
  it('classifies a task text with the active (seeded, committed) model', async () => {
    const result = await harness.call(
      CLASSIFY,
      {
        input: { title: 'Fix crash when the login email is empty', description: 'TypeError: cannot read x' },
      },
      viewer,
    );
    expect(result.errors).toBeUndefined();
    const answer = result.data!['classifyTask'];
    expect(answer.type).toBe('BUG_FIX');
    expect(answer.modelVersion).toMatch(/^task-classifier-/);
    expect(answer.classifiedAt).toBeNull();
    const total = answer.typeProbabilities.reduce((sum: number, entry: any) => sum + entry.probability, 0);
    expect(total).toBeCloseTo(1, 4);
  });

  it.each([
    ['empty', { title: '', description: '' }],
    ['non-English', { title: 'Исправить ошибку входа при пустом адресе', description: '登录时出现错误' }],
    ['emoji and noise', { title: '🔥🔥🔥 ¯\\_(ツ)_/¯', description: '\u0000\u0001\u202e' }],
  ])('answers %s text with a clear answer, never an error', async (_name, input) => {
    const result = await harness.call(CLASSIFY, { input }, viewer);
    expect(result.errors).toBeUndefined();
    const answer = result.data!['classifyTask'];
    expect(answer.typeConfidence).toBeGreaterThanOrEqual(0);
    expect(answer.typeConfidence).toBeLessThanOrEqual(1);
  });

  it('refuses a 1 MB description with BAD_USER_INPUT naming the field, and keeps serving', async () => {
    const result = await harness.call(
      CLASSIFY,
      { input: { title: 'Big', description: 'x'.repeat(1_000_000) } },
      viewer,
    );
    expect(errorCodes(result)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(result.errors![0]!.extensions).toMatchObject({ field: 'description' });
    const after = await harness.call(CLASSIFY, { input: { title: 'Add a dark mode toggle' } }, viewer);
    expect(after.errors).toBeUndefined();
  });

  it('refuses an over-long title and malformed input with a coded error', async () => {
    const long = await harness.call(CLASSIFY, { input: { title: 'a'.repeat(2_001) } }, viewer);
    expect(errorCodes(long)).toEqual([ErrorCode.BAD_USER_INPUT]);
    for (const input of [{ title: 42 }, { description: 'no title' }, 'text', null, { title: ['a'] }]) {
      const result = await harness.call(CLASSIFY, { input }, viewer);
      expect(result.errors?.length, JSON.stringify(input)).toBeGreaterThan(0);
      expect(errorCodes(result)).not.toContain(ErrorCode.INTERNAL_SERVER_ERROR);
    }
  });

  it('answers generated inputs of every size and alphabet without crashing (class test)', async () => {
    const alphabets = ['abc xyz ', 'αβγ δεζ ', '日本語 ', '\t\n\r ', '()[]{}<>;', 'ﷺ𝔘𝔫𝔦 '];
    const random = seededRandom(7);
    for (let index = 0; index < 24; index += 1) {
      const alphabet = alphabets[index % alphabets.length]!;
      const length = Math.floor(random() * 3_000);
      let text = '';
      while (text.length < length) text += alphabet[Math.floor(random() * alphabet.length)];
      const result = await harness.call(
        CLASSIFY,
        { input: { title: text.slice(0, 2_000), description: text.repeat(3) } },
        viewer,
      );
      expect(result.errors, `input ${index}`).toBeUndefined();
    }
  });

  it('refuses callers without tasks:read', async () => {
    const anonymous = await harness.call(CLASSIFY, { input: { title: 'x' } });
    expect(errorCodes(anonymous)).toEqual([ErrorCode.UNAUTHENTICATED]);
    const noScopes = await harness.call(
      CLASSIFY,
      { input: { title: 'x' } },
      { ...userPrincipal('VIEWER'), scopes: ['chat:read'] },
    );
    expect(errorCodes(noScopes)).toEqual([ErrorCode.FORBIDDEN]);
  });
});
