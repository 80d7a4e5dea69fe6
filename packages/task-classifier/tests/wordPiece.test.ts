import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EMBEDDING_MODEL_DIR,
  locateEmbeddingModel,
  readEmbeddingModels,
  TokenizerFormatError,
  WordPieceTokenizer,
} from '@cap/task-classifier';

// A vocabulary small enough to reason about every expected id by hand.
const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'fix',
  'crash',
  'un',
  '##aff',
  '##able',
  'fixa',
  'cafe',
  'resume',
  '.',
  ':',
  '!',
  '=',
  '$',
  'email',
  'null',
  '中',
  '##s',
  'test',
];
const id = (piece: string) => VOCAB.indexOf(piece);
const tokenizerJson = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    normalizer: { type: 'BertNormalizer', lowercase: true, strip_accents: null },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 12,
      vocab: Object.fromEntries(VOCAB.map((piece, index) => [piece, index])),
    },
    ...overrides,
  });
const tokenizer = WordPieceTokenizer.fromJson(tokenizerJson());

describe('WordPieceTokenizer', () => {
  it('lower-cases, strips accents and splits on whitespace and every punctuation character', () => {
    expect(tokenizer.words('Fix  CRASH in Café: user.email==null!')).toEqual([
      'fix',
      'crash',
      'in',
      'cafe',
      ':',
      'user',
      '.',
      'email',
      '=',
      '=',
      'null',
      '!',
    ]);
    // ASCII symbols that are not Unicode punctuation are split too; combining marks written apart vanish.
    expect(tokenizer.words('a$b e\u0301')).toEqual(['a', '$', 'b', 'e']);
    expect(tokenizer.words('RÉSUMÉ naïve')).toEqual(['resume', 'naive']);
  });

  it('drops control and format characters and keeps CJK ideographs as words of their own', () => {
    expect(tokenizer.words('te\u0000s\u200bt\u0007 x\ty\r\nz')).toEqual(['test', 'x', 'y', 'z']);
    expect(tokenizer.words('修复中bug')).toEqual(['修', '复', '中', 'bug']);
    // Hangul is not among BERT's CJK blocks: it stays one word (decomposed into jamo, as accent stripping
    // decomposes everything).
    expect(tokenizer.words('한국어 text')).toEqual(['한국어'.normalize('NFD'), 'text']);
  });

  it('cuts words into the longest vocabulary pieces from the start, continuations with ##', () => {
    expect(tokenizer.pieces('unaffable')).toEqual([id('un'), id('##aff'), id('##able')]);
    expect(tokenizer.pieces('unable')).toEqual([id('un'), id('##able')]);
    // Greedy, no backtracking: "fixa" is longer than "fix", and "##ble" is not a piece, so the word is
    // [UNK] although fix + ##able would have spelt it.
    expect(tokenizer.pieces('fixable')).toEqual([id('[UNK]')]);
    expect(tokenizer.pieces('tests')).toEqual([id('test'), id('##s')]);
    expect(tokenizer.pieces('crash')).toEqual([id('crash')]);
    // Longer than max_input_chars_per_word (12): one [UNK] without trying.
    expect(tokenizer.pieces('testtesttesttest')).toEqual([id('[UNK]')]);
  });

  it('frames the pieces with [CLS] and [SEP] and truncates to the token limit', () => {
    expect(tokenizer.encode('Fix crash: email null!')).toEqual({
      ids: [id('[CLS]'), id('fix'), id('crash'), id(':'), id('email'), id('null'), id('!'), id('[SEP]')],
      truncated: false,
    });
    expect(tokenizer.encode('').ids).toEqual([id('[CLS]'), id('[SEP]')]);
    const long = tokenizer.encode('tests '.repeat(1000), 8);
    expect(long.truncated).toBe(true);
    expect(long.ids).toEqual([
      id('[CLS]'),
      id('test'),
      id('##s'),
      id('test'),
      id('##s'),
      id('test'),
      id('##s'),
      id('[SEP]'),
    ]);
    // A word's pieces are cut mid-word when the limit falls inside it.
    expect(tokenizer.encode('fix tests', 4)).toEqual({
      ids: [id('[CLS]'), id('fix'), id('test'), id('[SEP]')],
      truncated: true,
    });
    expect(() => tokenizer.encode('x', 1)).toThrow(RangeError);
  });

  it('reads only a bounded prefix of a huge text', () => {
    const words = tokenizer.words('a '.repeat(1_000_000), 50);
    expect(words).toHaveLength(50);
  });

  it('keeps case and accents when the normaliser says so', () => {
    const cased = WordPieceTokenizer.fromJson(
      tokenizerJson({ normalizer: { type: 'BertNormalizer', lowercase: false, strip_accents: false } }),
    );
    expect(cased.words('Café FIX')).toEqual(['Café', 'FIX']);
  });

  it('rejects a tokenizer.json it cannot honour with a TokenizerFormatError', () => {
    expect(() => WordPieceTokenizer.fromJson('{not json')).toThrow(TokenizerFormatError);
    expect(() => WordPieceTokenizer.fromJson(JSON.stringify({ model: { type: 'BPE', vocab: {} } }))).toThrow(
      /expected a WordPiece model/,
    );
    expect(() =>
      WordPieceTokenizer.fromJson(JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0 } } })),
    ).toThrow(/no \[CLS\]/);
  });
});

// The real vocabulary of the pinned MiniLM model, when scripts/embedding-model.sh has fetched it.
const spec = (await readEmbeddingModels())['all-minilm-l6-v2-q'];
const located = spec ? await locateEmbeddingModel(spec, DEFAULT_EMBEDDING_MODEL_DIR) : undefined;
const absent = located?.ok ? '' : ` (skipped: ${located?.reason ?? 'no all-minilm-l6-v2-q in the manifest'})`;

describe.skipIf(!located?.ok)(`WordPieceTokenizer on the uncased BERT vocabulary${absent}`, () => {
  it('gives the ids the vocabulary assigns to each expected piece', async () => {
    if (!located?.ok) return;
    const bert = WordPieceTokenizer.fromJson(await readFile(located.tokenizerPath, 'utf8'));
    const ids = (pieces: string[]) => pieces.map((piece) => bert.idOf(piece));
    expect(ids(['[CLS]', '[SEP]', '[PAD]', '[UNK]'])).toEqual([101, 102, 0, 100]);
    expect(bert.encode('Hello world').ids).toEqual([101, ...ids(['hello', 'world']), 102]);
    expect(bert.encode('Hello world').ids).toEqual([101, 7592, 2088, 102]);
    expect(bert.encode('unaffable').ids).toEqual([101, ...ids(['una', '##ffa', '##ble']), 102]);
    expect(bert.encode('Naïve RÉSUMÉ').ids).toEqual([101, ...ids(['naive', 'resume']), 102]);
    // 中 is in the vocabulary, 修 is not.
    expect(bert.encode('修中').ids).toEqual([101, 100, bert.idOf('中'), 102]);
  });
});
